# Sourced by bench/run.sh, ab.sh, levers.sh and profile.sh: the runtime settings users run the sidecar with (./run.sh,
# the Dockerfile and deploy/ set the same), given to every target built from this repository, plain YARP too.
# Hex without "0x": the Native AOT runtime silently ignores a 0x-prefixed value. Inline socket completions: the
# runtime runs socket continuations on its epoll threads and Kestrel follows (src/Dynamo.Sidecar/Hosting/InlineSocketScheduling.cs).
# shellcheck disable=SC2034 # used by the scripts that source it
runtime_env=(DOTNET_GCgen0size=200000 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
