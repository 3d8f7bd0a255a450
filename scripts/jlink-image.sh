#!/usr/bin/env bash
# Builds a self-contained Joule runtime image in target/joule-image: a JDK trimmed by jlink to the
# modules the jars use (found with jdeps), Joule's jars with their dependencies (JOCL included, whose jar
# carries the OpenCL JNI libraries) and a bin/joule launcher. The image needs no installed JDK; the
# OpenCL backend still needs an OpenCL driver on the machine (see docs/opencl.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/jlink ]]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
if [[ -z "${JAVA_HOME:-}" || ! -x "$JAVA_HOME/bin/jlink" ]]; then
  echo "jlink-image.sh: no JDK 25 with jlink found; set JAVA_HOME" >&2
  exit 1
fi

models="$root/models/target"
jar="$models/joule-models-0.1.0-SNAPSHOT.jar"
if [[ ! -f "$jar" || ! -d "$models/lib" ]]; then
  echo "jlink-image.sh: building the jars..." >&2
  (cd "$root" && ./mvnw -q -B -DskipTests install >&2)
fi

# The modules every jar needs, by jdeps, one jar at a time so that a jar jdeps cannot analyse (an
# automatic module whose own dependencies are missing) does not stop the rest. The incubating Vector
# API is loaded by flag, not by a reference jdeps can see; jdk.unsupported serves jline's signal handling.
modules="java.base,jdk.incubator.vector,jdk.unsupported"
for j in "$jar" "$models"/lib/*.jar; do
  found="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
    --add-modules jdk.incubator.vector "$j" 2>/dev/null | tail -n 1 || true)"
  if [[ "$found" =~ ^[a-z.,]+$ ]]; then
    modules="$modules,$found"
  fi
done
modules="$(tr ',' '\n' <<<"$modules" | sort -u | paste -sd, -)"

out="$root/target/joule-image"
rm -rf "$out"
mkdir -p "$root/target"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-6 --output "$out"

mkdir -p "$out/lib/joule"
cp "$jar" "$models"/lib/*.jar "$out/lib/joule/"

cat >"$out/bin/joule" <<'LAUNCHER'
#!/bin/sh
# Joule's launcher inside the runtime image. Native access is granted for JOCL's JNI library.
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "$here/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -XX:CompileCommand=quiet -XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::exp \
  -XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::log \
  -XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::tanh \
  -XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::gelu \
  -XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::geluDerivative ${JOULE_JAVA_OPTS:-} \
  -cp "$here/lib/joule/*" dev.joule.models.cli.Main "$@"
LAUNCHER
chmod +x "$out/bin/joule"

echo "modules: $modules"
echo "image: $out ($(du -sh "$out" | cut -f1))"
