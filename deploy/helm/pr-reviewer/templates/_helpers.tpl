{{/*
Chart name, cut to 63 characters because Kubernetes label values and DNS names allow no more.
*/}}
{{- define "pr-reviewer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name. Kept to 52 characters so that suffixes such as "-receiver-tests"
still fit in 63.
*/}}
{{- define "pr-reviewer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pr-reviewer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource. Call with (dict "ctx" $ "component" "receiver").
*/}}
{{- define "pr-reviewer.labels" -}}
helm.sh/chart: {{ include "pr-reviewer.chart" .ctx }}
{{ include "pr-reviewer.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: pr-reviewer
{{- end }}

{{/*
Labels that select one component's pods; they must never change between upgrades.
*/}}
{{- define "pr-reviewer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pr-reviewer.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Image reference of one component. Call with (dict "ctx" $ "image" .Values.receiver.image).
A digest wins over a tag; the component's tag wins over image.tag, which defaults to appVersion.
*/}}
{{- define "pr-reviewer.image" -}}
{{- $tag := .image.tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "pr-reviewer.receiverName" -}}
{{- printf "%s-receiver" (include "pr-reviewer.fullname" .) }}
{{- end }}

{{- define "pr-reviewer.operatorName" -}}
{{- printf "%s-operator" (include "pr-reviewer.fullname" .) }}
{{- end }}

{{- define "pr-reviewer.reviewerEnvName" -}}
{{- printf "%s-reviewer-env" (include "pr-reviewer.fullname" .) }}
{{- end }}

{{/*
Names of the Secrets the pods read: the user's existing Secret, or the one this chart creates.
*/}}
{{- define "pr-reviewer.webhookSecretName" -}}
{{- .Values.webhook.existingSecret | default (printf "%s-webhook" (include "pr-reviewer.fullname" .)) }}
{{- end }}

{{- define "pr-reviewer.githubSecretName" -}}
{{- .Values.github.existingSecret | default (printf "%s-github" (include "pr-reviewer.fullname" .)) }}
{{- end }}

{{- define "pr-reviewer.llmSecretName" -}}
{{- .Values.llm.existingSecret | default (printf "%s-llm" (include "pr-reviewer.fullname" .)) }}
{{- end }}

{{/*
Security context of the receiver, operator and test containers: the Pod Security "restricted" profile
plus a read-only root filesystem. The images run as uid 10001.
*/}}
{{- define "pr-reviewer.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "pr-reviewer.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}
