{{/* The causeway-config data as JSON (sorted keys, as toJson gives): the ConfigMap's data and the digest that rolls the pods. */}}
{{- define "causeway.config" -}}
{{- $c := dict "clusterId" .Values.clusterId "clusterCIDRs" .Values.clusterCIDRs "serviceCIDRs" .Values.serviceCIDRs "cableDriver" .Values.cableDriver "intraCluster" .Values.intraCluster "brokerAddress" .Values.brokerAddress -}}
{{- range $k, $v := .Values.gateway }}{{- if ne (toString $v) "<nil>" }}{{- $_ := set $c $k (toString $v) }}{{- end }}{{- end -}}
{{- toJson $c -}}
{{- end -}}
{{- define "causeway.configHash" -}}
{{- include "causeway.config" . | sha256sum | trunc 16 -}}
{{- end -}}
