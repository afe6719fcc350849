# syntax=docker/dockerfile:1
# Dynamo Sidecar image: docker build -t dynamo-sidecar .
# Framework-dependent, portable IL build (no apphost), so the build stage runs on the build
# machine's own platform and the output runs on any platform of the runtime image.

ARG DOTNET_VERSION=10.0

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1

# Restore layer: only what restore reads, so a source change does not download packages again.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Dynamo.Sidecar/Dynamo.Sidecar.csproj src/Dynamo.Sidecar/
RUN dotnet restore src/Dynamo.Sidecar/Dynamo.Sidecar.csproj

# Build layer: the analyzers read .editorconfig, as in the repository build.
COPY .editorconfig ./
COPY src/Dynamo.Sidecar/ src/Dynamo.Sidecar/
RUN dotnet publish src/Dynamo.Sidecar -c Release --no-restore -o /app -p:UseAppHost=false -p:IsTransformWebConfigDisabled=true

# Chiseled = distroless Ubuntu: no shell, no package manager, non-root user `app` (UID $APP_UID = 1654).
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled AS runtime
LABEL org.opencontainers.image.title="dynamo-sidecar" \
      org.opencontainers.image.description="YARP reverse-proxy sidecar that exports NVIDIA Dynamo frontend metrics (dynamo_frontend_*) for OpenAI-compatible LLM workers"
WORKDIR /app
COPY --from=build /app ./

# Proxy on 8080, admin (/metrics, /healthz, /readyz) on 9464. ASPNETCORE_HTTP_PORTS (set by the
# base image) is cleared so that ASPNETCORE_URLS is the only listener setting.
# Nothing is written at run time, so the root filesystem can be mounted read-only:
#  - DOTNET_EnableDiagnostics=0: no diagnostics IPC socket in /tmp (in-process metrics still work);
#  - reloadConfigOnChange=false: no file watchers on /app (a ConfigMap change rolls the pod instead).
# DOTNET_GCgen0size=0x200000 (2 MiB): the GC's gen0 budget otherwise follows the node's L3 cache (tens of MiB
# on a server CPU, whatever the pod's memory limit) and the heap grows to it; 2 MiB halves the sidecar's
# anonymous memory under 512 paced streams at no measurable CPU cost (docs/benchmarks.md, "Memory levers").
# Environment only: the runtime reads no runtimeconfig.json knob for it.
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    Sidecar__AdminPort=9464 \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_hostBuilder__reloadConfigOnChange=false \
    DOTNET_GCgen0size=0x200000

EXPOSE 8080 9464
USER $APP_UID
ENTRYPOINT ["dotnet", "Dynamo.Sidecar.dll"]
