# syntax=docker/dockerfile:1
# Dynamo Sidecar image: docker build -t dynamo-sidecar .
# The sidecar ships as a Native AOT binary (PublishAot in the csproj): one native executable, no .NET runtime in
# the image. Native AOT does not cross-compile between architectures in a plain container, so the build stage runs
# on the target platform (no --platform=$BUILDPLATFORM): build each architecture's image on a machine of that
# architecture (.NET does not support running under QEMU emulation).

ARG DOTNET_VERSION=10.0

# The SDK image with the Native AOT toolchain (clang, zlib's headers).
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble-aot AS build
# amd64 or arm64; the dotnet CLI maps amd64 to the x64 runtime identifier.
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1

# Restore layer: only what restore reads, so a source change does not download packages again. Restored for the
# runtime identifier the publish uses (the ILCompiler package is per runtime identifier).
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Dynamo.Sidecar/Dynamo.Sidecar.csproj src/Dynamo.Sidecar/
RUN dotnet restore src/Dynamo.Sidecar/Dynamo.Sidecar.csproj -a $TARGETARCH

# Build layer: the analyzers read .editorconfig, as in the repository build. On Linux the publish strips the
# binary's symbols into Dynamo.Sidecar.dbg beside it (StripSymbols is on by default): kept out of the image.
COPY .editorconfig ./
COPY src/Dynamo.Sidecar/ src/Dynamo.Sidecar/
RUN dotnet publish src/Dynamo.Sidecar -c Release --no-restore -a $TARGETARCH -o /app -p:IsTransformWebConfigDisabled=true \
    && rm /app/Dynamo.Sidecar.dbg

# runtime-deps: what a self-contained binary needs (libc, libssl, ca-certificates...), no .NET runtime.
# Chiseled = distroless Ubuntu: no shell, no package manager, non-root user `app` (UID $APP_UID = 1654).
FROM mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}-noble-chiseled AS runtime
LABEL org.opencontainers.image.title="dynamo-sidecar" \
      org.opencontainers.image.description="YARP reverse-proxy sidecar that exports NVIDIA Dynamo frontend metrics (dynamo_frontend_*) for OpenAI-compatible LLM workers"
WORKDIR /app
COPY --from=build /app ./

# Proxy on 8080, admin (/metrics, /healthz, /readyz) on 9464. ASPNETCORE_HTTP_PORTS (set by the
# base image) is cleared so that ASPNETCORE_URLS is the only listener setting.
# Nothing is written at run time, so the root filesystem can be mounted read-only:
#  - DOTNET_EnableDiagnostics=0: no diagnostics IPC socket in /tmp (in-process metrics still work);
#  - reloadConfigOnChange=false: no file watchers on /app (a ConfigMap change rolls the pod instead).
# DOTNET_GCgen0size=200000 (hex: 2 MiB): the GC's gen0 budget otherwise follows the node's L3 cache (tens of MiB
# on a server CPU, whatever the pod's memory limit) and the heap grows to it; 2 MiB halves the sidecar's
# anonymous memory under 512 paced streams at no measurable CPU cost (docs/benchmarks.md, "Memory levers").
# No `0x` prefix: the Native AOT runtime silently ignores a value written 0x200000 (both runtimes read it as hex).
# Environment only: the runtime reads no runtimeconfig.json knob for it.
# DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1: each token is read from the worker, metered and written to the client
# on the socket engine's thread that polled it (Kestrel follows this switch), not handed to a thread-pool thread and
# back: a quarter less CPU per event and 7 MiB less idle memory under 512 paced streams ("Inline socket scheduling").
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    Sidecar__AdminPort=9464 \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_hostBuilder__reloadConfigOnChange=false \
    DOTNET_GCgen0size=200000 \
    DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1

EXPOSE 8080 9464
USER $APP_UID
ENTRYPOINT ["/app/Dynamo.Sidecar"]
