{{/* Names ---------------------------------------------------------------------- */}}
{{- define "callcenter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "callcenter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "callcenter.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "callcenter.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* "<fullname>-<component>", e.g. include "callcenter.component" (list . "web") */}}
{{- define "callcenter.component" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "callcenter.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels ----------------------------------------------------------------------- */}}
{{- define "callcenter.selectorLabels" -}}
{{- $root := index . 0 }}
app.kubernetes.io/name: {{ include "callcenter.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "callcenter.labels" -}}
{{- $root := index . 0 }}
{{ include "callcenter.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: callcenter
{{- end }}

{{/* Images ----------------------------------------------------------------------- */}}
{{- define "callcenter.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "callcenter.speechImage" -}}
{{- printf "%s:%s" .Values.speechImage.repository (.Values.speechImage.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Secrets and service addresses -------------------------------------------------- */}}
{{- define "callcenter.secretName" -}}
{{- include "callcenter.fullname" . }}
{{- end }}

{{- define "callcenter.postgresqlHost" -}}
{{- include "callcenter.component" (list . "postgresql") }}
{{- end }}

{{- define "callcenter.redisHost" -}}
{{- include "callcenter.component" (list . "redis") }}
{{- end }}

{{- define "callcenter.llmBaseUrl" -}}
{{- if .Values.vllm.enabled }}
{{- printf "http://%s:%d/v1" (include "callcenter.component" (list . "vllm")) (int .Values.vllm.service.port) }}
{{- else }}
{{- .Values.llm.baseUrl }}
{{- end }}
{{- end }}

{{- define "callcenter.llmModel" -}}
{{- if .Values.vllm.enabled }}
{{- .Values.vllm.servedModelName | default .Values.vllm.model }}
{{- else }}
{{- .Values.llm.model }}
{{- end }}
{{- end }}

{{/* A generated password that survives upgrades: reuse the one in the live Secret. */}}
{{- define "callcenter.generatedPassword" -}}
{{- $root := index . 0 }}
{{- $key := index . 1 }}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (include "callcenter.secretName" $root) }}
{{- if and $existing (index ($existing.data | default dict) $key) }}
{{- index $existing.data $key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{/*
The environment every app container shares (web, worker, beat, migrations): the store,
the broker, secrets and engine addresses. Passwords come from Secrets; URLs that embed
them use Kubernetes' $(VAR) expansion of variables defined earlier in the list.
*/}}
{{- define "callcenter.databaseEnv" -}}
{{- if .Values.postgresql.bundled.enabled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.bundled.auth.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.postgresql.bundled.auth.secretKey }}
- name: CALLCENTER_DATABASE_URL
  value: {{ printf "postgresql://%s:$(POSTGRES_PASSWORD)@%s:5432/%s" .Values.postgresql.bundled.auth.username (include "callcenter.postgresqlHost" .) .Values.postgresql.bundled.auth.database | quote }}
{{- else }}
- name: CALLCENTER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.external.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.postgresql.external.secretKey }}
{{- end }}
{{- end }}

{{- define "callcenter.env" -}}
{{ include "callcenter.databaseEnv" . }}
{{- if .Values.redis.bundled.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.bundled.auth.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.redis.bundled.auth.secretKey }}
- name: CALLCENTER_CELERY_BROKER_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "callcenter.redisHost" .) | quote }}
{{- else }}
- name: CALLCENTER_CELERY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.redis.external.secretKey }}
{{- end }}
- name: CALLCENTER_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secretKey.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.secretKey.secretKey }}
- name: CALLCENTER_TWILIO_ACCOUNT_SID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.twilio.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.twilio.accountSidKey }}
- name: CALLCENTER_TWILIO_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.twilio.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.twilio.authTokenKey }}
{{- range $name, $var := dict "identityPepper" "CALLCENTER_IDENTITY_PEPPER" "metricsToken" "CALLCENTER_METRICS_TOKEN" "speechServiceToken" "CALLCENTER_SPEECH_SERVICE_TOKEN" }}
{{- $secret := index $.Values $name }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret.existingSecret | default (include "callcenter.secretName" $) }}
      key: {{ $secret.secretKey }}
{{- end }}
- name: CALLCENTER_LLM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.llm.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.llm.apiKeyKey }}
{{- if .Values.config.apiToken.existingSecret }}
- name: CALLCENTER_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.config.apiToken.existingSecret }}
      key: {{ .Values.config.apiToken.secretKey }}
{{- end }}
{{- end }}

{{/* Pod scheduling fields shared by every workload (values: nodeSelector, tolerations, affinity). */}}
{{- define "callcenter.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "callcenter.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "callcenter.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
{{- end }}

{{- define "callcenter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "callcenter.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The app containers' environment: ConfigMap plus the secret-backed variables. */}}
{{- define "callcenter.appEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "callcenter.component" (list . "config") }}
env:
  {{- include "callcenter.env" . | nindent 2 }}
{{- end }}

{{- define "callcenter.podSpecCommon" -}}
serviceAccountName: {{ include "callcenter.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* GPU pods: their own scheduling, else the shared gpu.* defaults. (list $component $root) */}}
{{- define "callcenter.gpuScheduling" -}}
{{- $component := index . 0 }}
{{- $gpu := (index . 1).Values.gpu }}
{{- include "callcenter.scheduling" (dict "nodeSelector" ($component.nodeSelector | default $gpu.nodeSelector) "tolerations" ($component.tolerations | default $gpu.tolerations) "affinity" $component.affinity) }}
{{- end }}

{{/* A PersistentVolumeClaim for a model cache. (list $root $name $cache) */}}
{{- define "callcenter.cacheClaim" -}}
{{- $root := index . 0 }}
{{- $cache := index . 2 }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "callcenter.component" (list $root (index . 1)) }}
  labels:
    {{- include "callcenter.labels" (list $root (index . 1)) | nindent 4 }}
  annotations:
    # Model downloads are slow and large: keep them when the release is uninstalled.
    helm.sh/resource-policy: keep
spec:
  accessModes: ["ReadWriteOnce"]
  {{- with $cache.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ $cache.size }}
{{- end }}

{{/* The Service of a speech or LLM component. (list $root $component $port) */}}
{{- define "callcenter.internalService" -}}
{{- $root := index . 0 }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "callcenter.component" (list $root (index . 1)) }}
  labels:
    {{- include "callcenter.labels" (list $root (index . 1)) | nindent 4 }}
    callcenter.io/metrics: "true"
spec:
  type: ClusterIP
  selector:
    {{- include "callcenter.selectorLabels" (list $root (index . 1)) | nindent 4 }}
  ports:
    - name: http
      port: {{ index . 2 }}
      targetPort: http
{{- end }}

{{/* A component's resources.limits["nvidia.com/gpu"], 0 when unset. */}}
{{- define "callcenter.gpuLimit" -}}
{{- $limits := (.resources | default dict).limits | default dict }}
{{- index $limits "nvidia.com/gpu" | default 0 }}
{{- end }}

{{/* The speech services' one secret: the token the web pods send (asr and tts pods). */}}
{{- define "callcenter.speechServiceTokenEnv" -}}
- name: CALLCENTER_SPEECH_SERVICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.speechServiceToken.existingSecret | default (include "callcenter.secretName" .) }}
      key: {{ .Values.speechServiceToken.secretKey }}
{{- end }}
