{{- define "dynamo-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dynamo-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dynamo-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dynamo-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dynamo-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dynamo-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "dynamo-sidecar.configName" -}}
{{ include "dynamo-sidecar.fullname" . }}-config
{{- end }}

{{/* The sidecar's appsettings.Production.json, from .Values.sidecar.config. */}}
{{- define "dynamo-sidecar.appsettings" -}}
{{- $adminPort := dig "Sidecar" "AdminPort" 9464 .Values.sidecar.config | int }}
{{- if ne $adminPort (int .Values.sidecar.adminPort) }}
{{- fail (printf "sidecar.adminPort (%v) must equal sidecar.config.Sidecar.AdminPort (%v)" .Values.sidecar.adminPort $adminPort) }}
{{- end }}
{{- if and (ne (int .Values.sidecar.port) 8080) (not (hasKey .Values.sidecar.config "Urls")) }}
{{- fail (printf "sidecar.port is %v: set sidecar.config.Urls to \"http://0.0.0.0:%v\" too (the image listens on 8080)" .Values.sidecar.port .Values.sidecar.port) }}
{{- end }}
{{- toPrettyJson .Values.sidecar.config }}
{{- end }}
