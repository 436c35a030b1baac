#!/bin/sh
# ENTRYPOINT of the local Lambda Node.js 22 image, with the contract of AWS's base images:
# the one argument is the handler. Outside Lambda (no AWS_LAMBDA_RUNTIME_API) the runtime
# interface emulator runs the runtime and serves the invoke API on port 8080, so
#   docker run -p 9000:8080 -v "$PWD/.aws-sam/build/DefaultFunction:/var/task:ro" <image> handler.handler
# works as with the real image. `sam local invoke` replaces this entrypoint with its own copy of
# the emulator (/var/rapid/aws-lambda-rie), which starts /var/runtime/bootstrap the same way.
if [ $# -ne 1 ]; then
  echo "lambda-entrypoint.sh: give the handler (e.g. handler.handler) as the only argument" >&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap
fi
exec /var/runtime/bootstrap
