{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "statsd-sepagent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name, Helm's convention: <release>-<chart>, or the release name alone when it already
contains the chart name; and the chart name alone when the release name is the start of it
(release "statsd": statsd-sepagent, not statsd-statsd-sepagent).
*/}}
{{- define "statsd-sepagent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else if hasPrefix (printf "%s-" .Release.Name) $name }}
{{- $name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "statsd-sepagent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "statsd-sepagent.labels" -}}
helm.sh/chart: {{ include "statsd-sepagent.chart" . }}
{{ include "statsd-sepagent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: name and instance only (a Deployment's selector is immutable).
*/}}
{{- define "statsd-sepagent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "statsd-sepagent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "statsd-sepagent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "statsd-sepagent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The ConfigMap the sidecar watches: the chart's own, or config.existingConfigMap. The
container args and the Role's resourceNames both use this, so they always agree.
*/}}
{{- define "statsd-sepagent.configMapName" -}}
{{- if .Values.config.existingConfigMap }}
{{- .Values.config.existingConfigMap }}
{{- else }}
{{- printf "%s-config" (include "statsd-sepagent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
true when the sidecar runs as a native sidecar (an initContainer with restartPolicy: Always):
sidecar.mode native, or auto on Kubernetes 1.29 and later. native on an older cluster fails
the render: its API server refuses restartPolicy and probes on an initContainer.
*/}}
{{- define "statsd-sepagent.nativeSidecar" -}}
{{- $supported := semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version }}
{{- if eq .Values.sidecar.mode "native" }}
{{- if not $supported }}
{{- fail (printf "sidecar.mode=native needs Kubernetes 1.29 or later (native sidecars: an initContainer with restartPolicy Always and probes), and this cluster is %s; set sidecar.mode=auto or classic" .Capabilities.KubeVersion.Version) }}
{{- end }}true
{{- else if eq .Values.sidecar.mode "classic" }}false
{{- else if $supported }}true
{{- else }}false
{{- end }}
{{- end }}

{{/*
The sidecar's config document (TOML), rendered from values. Keys as in docs/config.md.
Forwarding to a tier: server-mode = "forwarder" with [http-transport] (gostatsd's), or,
with forwarder.keepLocalBackends, the forwarder backend beside the others.
*/}}
{{- define "statsd-sepagent.configToml" -}}
{{- $fwd := include "statsd-sepagent.forwarderEndpoint" . }}
{{- $backends := .Values.config.backends }}
{{- if and .Values.prometheus.enabled (not (has "prometheus" $backends)) }}
{{- $backends = append $backends "prometheus" }}
{{- end }}
{{- $forwardOnly := and $fwd (not .Values.forwarder.keepLocalBackends) }}
{{- if $forwardOnly -}}
server-mode = "forwarder"
{{- else -}}
backends = {{ join " " (ternary (append $backends "forwarder") $backends (ne $fwd "")) | quote }}
{{- end }}
flush-interval = {{ .Values.config.flushInterval | quote }}
{{- include "statsd-sepagent.commonToml" . }}
{{- with .Values.config.settings }}
{{ toToml . | trim }}
{{- end }}
{{- with .Values.config.extraToml }}
{{ . }}
{{- end }}
{{- include "statsd-sepagent.backendSections" (dict "root" . "host" .Values.sepagent.host) }}
{{- if $fwd }}

[{{ if $forwardOnly }}http-transport{{ else }}forwarder{{ end }}]
api-endpoint = [{{ range $i, $e := splitList " " $fwd }}{{ if $i }}, {{ end }}{{ $e | quote }}{{ end }}]
flush-interval = {{ .Values.forwarder.flushInterval | quote }}
compress = {{ .Values.forwarder.compress }}
max-request-elapsed-time = {{ .Values.forwarder.maxRequestElapsedTime | quote }}
{{- end }}
{{- end }}

{{/*
The aggregation tier's config document: ingestion on [http.ingest], the tier's backends.
*/}}
{{- define "statsd-sepagent.aggregatorToml" -}}
{{- $backends := .Values.aggregator.backends }}
{{- if and .Values.prometheus.enabled (not (has "prometheus" $backends)) }}
{{- $backends = append $backends "prometheus" }}
{{- end -}}
backends = {{ join " " $backends | quote }}
flush-interval = {{ .Values.aggregator.flushInterval | quote }}
http-servers = "ingest"
{{- include "statsd-sepagent.commonToml" . }}
{{- with .Values.aggregator.settings }}
{{ toToml . | trim }}
{{- end }}
{{- with .Values.aggregator.extraToml }}
{{ . }}
{{- end }}

[http.ingest]
address = ":{{ .Values.aggregator.port }}"
enable-ingestion = true
enable-healthcheck = true
max-body-size = {{ .Values.aggregator.maxBodySize | quote }}
{{- include "statsd-sepagent.backendSections" (dict "root" . "host" (include "statsd-sepagent.aggregatorSepagentHost" .)) }}
{{- end }}

{{/*
Top-level keys both tiers share.
*/}}
{{- define "statsd-sepagent.commonToml" }}
percent-threshold = [{{ range $i, $p := .Values.config.percentThresholds }}{{ if $i }}, {{ end }}{{ $p }}{{ end }}]
{{- if .Values.config.defaultTags }}
default-tags = [{{ range $i, $t := .Values.config.defaultTags }}{{ if $i }}, {{ end }}{{ $t | quote }}{{ end }}]
{{- end }}
{{- end }}

{{/*
Where the aggregation tier's sepagent backend sends: aggregator.sepagentHost, else sepagent.host.
*/}}
{{- define "statsd-sepagent.aggregatorSepagentHost" -}}
{{- default .Values.sepagent.host .Values.aggregator.sepagentHost }}
{{- end }}

{{/*
The [sepagent] and [prometheus] sections, from values; `host` is the SepAgent host of the
tier that renders them.
*/}}
{{- define "statsd-sepagent.backendSections" }}
{{- $v := .root.Values }}

[sepagent]
host = {{ .host | quote }}
port = {{ $v.sepagent.port | int }}
sep_regexp = {{ printf "'%s'" $v.sepagent.sepRegexp }}
cluster_regexp = {{ printf "'%s'" $v.sepagent.clusterRegexp }}
max_datagram_bytes = {{ $v.sepagent.maxDatagramBytes | int }}
{{- if $v.prometheus.enabled }}

[prometheus]
path = "/metrics"
{{- with $v.prometheus.mapping }}
mapping = '''
{{ . | trimSuffix "\n" }}
'''
{{- end }}
{{- end }}
{{- range $type, $section := $v.config.backendSections }}

{{ toToml (dict $type $section) | trim }}
{{- end }}
{{- end }}

{{/*
The aggregation tier's name (its workload and Service).
*/}}
{{- define "statsd-sepagent.aggregatorName" -}}
{{- printf "%s-aggregator" (include "statsd-sepagent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Where the sidecars forward: forwarder.endpoint, else this chart's tier when enabled
(its Service, or each StatefulSet instance when there are several), else nothing.
*/}}
{{- define "statsd-sepagent.forwarderEndpoint" -}}
{{- if .Values.forwarder.endpoint }}
{{- .Values.forwarder.endpoint | trim }}
{{- else if .Values.aggregator.enabled }}
{{- $name := include "statsd-sepagent.aggregatorName" . }}
{{- if eq (int .Values.aggregator.replicas) 1 }}
{{- printf "http://%s.%s.svc:%d" $name .Release.Namespace (int .Values.aggregator.port) }}
{{- else }}
{{- range $i, $_ := until (int .Values.aggregator.replicas) }}
{{- if $i }} {{ end }}
{{- printf "http://%s-%d.%s.%s.svc:%d" $name $i $name $.Release.Namespace (int $.Values.aggregator.port) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of every object of the tier: its own name, as its pods carry it.
*/}}
{{- define "statsd-sepagent.aggregatorLabels" -}}
helm.sh/chart: {{ include "statsd-sepagent.chart" . }}
{{ include "statsd-sepagent.aggregatorSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The tier's selector labels: not the sidecar pods' (their Deployment must not adopt them).
*/}}
{{- define "statsd-sepagent.aggregatorSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-aggregator" (include "statsd-sepagent.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: aggregator
{{- end }}

{{/*
Environment for the APPLICATION container: where to send StatsD. Usable in other charts:
  env:
    {{- include "statsd-sepagent.appEnv" . | nindent 4 }}
*/}}
{{- define "statsd-sepagent.appEnv" -}}
- name: STATSD_HOST
  value: {{ .Values.sidecar.statsdAddress | quote }}
- name: STATSD_PORT
  value: {{ .Values.sidecar.statsdPort | quote }}
{{- if .Values.sidecar.unixSocket.enabled }}
- name: STATSD_SOCKET
  value: {{ .Values.sidecar.unixSocket.path | quote }}
- name: DD_DOGSTATSD_SOCKET
  value: {{ .Values.sidecar.unixSocket.path | quote }}
{{- end }}
{{- end }}

{{/*
The sidecar container alone, for embedding in another chart's pod template (see the
chart README). The caller adds `restartPolicy: Always` for a native sidecar; the
"statsd-sepagent.sidecar" template below does that itself.
*/}}
{{- define "statsd-sepagent.sidecarContainer" -}}
name: statsd-sepagent
image: "{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag | default .Chart.AppVersion }}"
imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
args:
  - --max-workers=1
  - --configmap={{ include "statsd-sepagent.configMapName" . }}
  - --configmap-key={{ .Values.config.key }}
  - --metrics-addr={{ .Values.sidecar.statsdAddress }}:{{ .Values.sidecar.statsdPort }}
  - --web-addr=:{{ .Values.sidecar.webPort }}
  - --log-format={{ .Values.sidecar.logFormat }}
  - --shutdown-timeout={{ .Values.sidecar.shutdownTimeout }}
  {{- if .Values.sidecar.unixSocket.enabled }}
  - --unix-socket={{ .Values.sidecar.unixSocket.path }}
  - --unix-socket-mode={{ .Values.sidecar.unixSocket.mode }}
  {{- end }}
  {{- with .Values.sidecar.extraArgs }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
env:
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  {{- with .Values.sidecar.nodeOptions }}
  - name: NODE_OPTIONS
    value: {{ . | quote }}
  {{- end }}
  {{- with .Values.sidecar.v8Flags }}
  - name: STATSD_SEPAGENT_V8_FLAGS
    value: {{ . | quote }}
  {{- end }}
  {{- with include "statsd-sepagent.secretEnv" . | trim }}{{ . | nindent 2 }}{{ end }}
  {{- with .Values.sidecar.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
ports:
  - name: statsd
    containerPort: {{ .Values.sidecar.statsdPort }}
    protocol: UDP
  - name: web
    containerPort: {{ .Values.sidecar.webPort }}
    protocol: TCP
startupProbe:
  {{- toYaml .Values.sidecar.startupProbe | nindent 2 }}
readinessProbe:
  {{- toYaml .Values.sidecar.readinessProbe | nindent 2 }}
livenessProbe:
  {{- toYaml .Values.sidecar.livenessProbe | nindent 2 }}
resources:
  {{- toYaml .Values.sidecar.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.sidecar.securityContext | nindent 2 }}
volumeMounts:
  - name: statsd-sepagent-tmp
    mountPath: /tmp
  {{- include "statsd-sepagent.socketMount" . | nindent 2 }}
  {{- with include "statsd-sepagent.secretMounts" . | trim }}{{ . | nindent 2 }}{{ end }}
{{- end }}

{{/*
The Unix socket's directory, shared by the sidecar and the application (empty when off).
*/}}
{{- define "statsd-sepagent.socketMount" -}}
{{- if .Values.sidecar.unixSocket.enabled }}
- name: statsd-sepagent-socket
  mountPath: {{ dir .Values.sidecar.unixSocket.path }}
{{- end }}
{{- end }}

{{/*
The sidecar's volumes (a writable /tmp under a read-only root filesystem).
*/}}
{{- define "statsd-sepagent.sidecarVolumes" -}}
- name: statsd-sepagent-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- if .Values.sidecar.unixSocket.enabled }}
- name: statsd-sepagent-socket
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- end }}
{{- range .Values.secrets.files }}
- name: secret-{{ .name }}
  secret:
    secretName: {{ .secretName }}
    defaultMode: 288 # 0440, written in decimal so that every YAML parser reads the same number
{{- end }}
{{- end }}

{{/*
Backend credentials from existing Secrets, as environment variables (secrets.env: DD_API_KEY,
AWS_ACCESS_KEY_ID, …); empty when there are none.
*/}}
{{- define "statsd-sepagent.secretEnv" -}}
{{- range .Values.secrets.env }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
{{- end }}
{{- end }}

{{/*
Backend credentials from existing Secrets, as files under /var/run/secrets/statsd-sepagent/<name>/
(secrets.files: for api_key_file, password-file, bearer-token-file, …).
*/}}
{{- define "statsd-sepagent.secretMounts" -}}
{{- range .Values.secrets.files }}
- name: secret-{{ .name }}
  mountPath: /var/run/secrets/statsd-sepagent/{{ .name }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
The sidecar as a list entry: with restartPolicy: Always when native.
*/}}
{{- define "statsd-sepagent.sidecar" -}}
- {{ include "statsd-sepagent.sidecarContainer" . | indent 2 | trim }}
  {{- if eq (include "statsd-sepagent.nativeSidecar" .) "true" }}
  restartPolicy: Always
  {{- end }}
{{- end }}

{{/*
The injector's resource name and selector labels (not the sidecar pods').
*/}}
{{- define "statsd-sepagent.injectorName" -}}
{{- printf "%s-injector" (include "statsd-sepagent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "statsd-sepagent.injectorSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-injector" (include "statsd-sepagent.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: injector
{{- end }}

{{/*
The injector's settings document (docs/injector.md): the sidecar every injected pod gets,
from the sidecar.* values, so injected and chart-rendered sidecars are the same.
*/}}
{{- define "statsd-sepagent.injectorSettings" -}}
image: "{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag | default .Chart.AppVersion }}"
imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
nativeSidecar: {{ include "statsd-sepagent.nativeSidecar" . }}
defaultClass: {{ .Values.injector.defaultClass }}
invalidAnnotations: {{ .Values.injector.invalidAnnotations }}
sepagentHost: {{ .Values.injector.sepagentHost | quote }}
sepagentPort: {{ .Values.injector.sepagentPort }}
statsdAddress: {{ .Values.sidecar.statsdAddress | quote }}
statsdPort: {{ .Values.sidecar.statsdPort }}
webPort: {{ .Values.sidecar.webPort }}
logFormat: {{ .Values.sidecar.logFormat }}
shutdownTimeout: {{ .Values.sidecar.shutdownTimeout | quote }}
preStopSleepSeconds: {{ .Values.sidecar.preStopSleepSeconds }}
nodeOptions: {{ .Values.sidecar.nodeOptions | quote }}
v8Flags: {{ .Values.sidecar.v8Flags | quote }}
extraArgs:
  {{- toYaml .Values.sidecar.extraArgs | nindent 2 }}
resources:
  {{- toYaml .Values.sidecar.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.sidecar.securityContext | nindent 2 }}
{{- end }}
