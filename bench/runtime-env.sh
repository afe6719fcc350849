# The runtime settings users run the sidecar with, listed once for this repository's own runs: sourced by bench/run.sh,
# ab.sh, levers.sh, profile.sh and tools/soak.sh (every target built from this repository, plain YARP too), and read
# by the tests' sidecar processes (tests/Dynamo.Sidecar.Testing/Processes/ShippedRuntimeSettings.cs). ./run.sh, the
# Dockerfile and deploy/ set the same, with the reason beside each; tools/validate-deploy.sh checks that they agree.
# Hex without "0x": the Native AOT runtime silently ignores a 0x-prefixed value. Inline socket completions: the
# runtime runs socket continuations on its epoll threads and Kestrel follows (src/Dynamo.Sidecar/Hosting/InlineSocketScheduling.cs).
# One line, NAME=value pairs separated by spaces: ShippedRuntimeSettings and validate-deploy read it as text.
# shellcheck disable=SC2034 # used by the scripts that source it
runtime_env=(DOTNET_GCgen0size=200000 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
