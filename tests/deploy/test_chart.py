"""The Helm chart: rendered by Helm's engine, every manifest valid for Kubernetes, and the
values that cannot work refused with a message that says what to set."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import helm_python
import kubernetes_validate
import pytest
from helm_python.errors import HelmRenderError, HelmValuesError

from callcenter.settings import Settings
from tests.deploy.chart import (
    CHART,
    KUBE_VERSIONS,
    documents,
    objects,
    production_values,
    render,
    validate,
)

CONFIGURATIONS = {"default": lambda: {}, "production": production_values}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_every_manifest_is_valid_kubernetes(configuration: str, kube_version: str) -> None:
    values = CONFIGURATIONS[configuration]()
    rendered = list(documents(render(values)))
    kinds = {document["kind"] for _, document in rendered}
    assert {"Deployment", "Service", "Job", "ConfigMap"} <= kinds
    for path, document in rendered:
        try:
            validate(document, kube_version)
        except Exception as error:
            name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
            pytest.fail(f"{path}: {name} is not valid for Kubernetes {kube_version}: {error}")


def test_the_validator_rejects_what_kubernetes_would() -> None:
    # Guards the check above: a typo'd field and a wrong type must not pass.
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({**service, "spec": {"portz": []}}, KUBE_VERSIONS[0])
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({**service, "spec": {"ports": [{"port": "http"}]}}, KUBE_VERSIONS[0])


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_helm_lint_is_clean(configuration: str) -> None:
    report = helm_python.lint(CHART, CONFIGURATIONS[configuration](), strict=True)
    assert report["errors"] == [] and report["messages"] == []


def test_default_install_has_every_component() -> None:
    found = objects()
    for component in ("web", "worker", "beat", "asr", "tts", "vllm"):
        assert ("Deployment", f"cc-callcenter-{component}") in found
    assert ("StatefulSet", "cc-callcenter-postgresql") in found
    assert ("StatefulSet", "cc-callcenter-redis") in found
    assert ("HorizontalPodAutoscaler", "cc-callcenter-web") not in found  # opt-in
    assert ("ServiceMonitor", "cc-callcenter") not in found  # opt-in


def test_web_probes_and_call_draining() -> None:
    web = objects(production_values())[("Deployment", "cc-callcenter-web")]
    pod = web["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"] == ["serve", "--grace", "600"]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]
    assert pod["terminationGracePeriodSeconds"] == 630
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_app_pods_reach_the_services_and_secrets() -> None:
    found = objects(production_values())
    config = found[("ConfigMap", "cc-callcenter-config")]["data"]
    assert config["CALLCENTER_ASR_URL"] == "http://cc-callcenter-asr:8090"
    assert config["CALLCENTER_TTS_URL"] == "http://cc-callcenter-tts:8091"
    assert config["CALLCENTER_LLM_BASE_URL"] == "http://cc-callcenter-vllm:8000/v1"
    assert config["CALLCENTER_LLM_MODEL"] == "qwen2.5-7b-instruct"
    assert config["CALLCENTER_PUBLIC_URL"] == "https://voice.example.com"
    env = {
        item["name"]: item
        for item in found[("Deployment", "cc-callcenter-worker")]["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    db = env["CALLCENTER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert db == {"name": "callcenter-db", "key": "database-url"}
    twilio = env["CALLCENTER_TWILIO_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert twilio == {"name": "callcenter-twilio", "key": "auth-token"}
    # Bundled Redis: the broker URL embeds the password through $(VAR) expansion.
    assert env["CALLCENTER_CELERY_BROKER_URL"]["value"].startswith("redis://:$(REDIS_PASSWORD)@")
    assert list(env).index("REDIS_PASSWORD") < list(env).index("CALLCENTER_CELERY_BROKER_URL")


def test_gpu_services_ask_for_gpus_on_gpu_nodes() -> None:
    found = objects(production_values())
    for component in ("asr", "tts", "vllm"):
        pod = found[("Deployment", f"cc-callcenter-{component}")]["spec"]["template"]["spec"]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
        assert "nvidia.com/gpu.product" in pod["nodeSelector"]


def test_vllm_serves_hermes_tool_calls_with_prefix_caching_and_speculation() -> None:
    found = objects(production_values())
    container = found[("Deployment", "cc-callcenter-vllm")]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["image"].startswith("vllm/vllm-openai:")
    args = container["args"]
    assert args[0] == "Qwen/Qwen2.5-7B-Instruct"
    for flag in (
        "--enable-auto-tool-choice",
        "--tool-call-parser=hermes",
        "--enable-prefix-caching",
    ):
        assert flag in args
    (speculative,) = [a for a in args if a.startswith("--speculative-config=")]
    config = json.loads(speculative.split("=", 1)[1])
    assert config["method"] == "ngram" and config["num_speculative_tokens"] == 4
    assert "--speculative-config" not in " ".join(
        objects()[("Deployment", "cc-callcenter-vllm")]["spec"]["template"]["spec"]["containers"][
            0
        ]["args"]
    )


def test_ingress_keeps_media_stream_websockets_open() -> None:
    ingress = objects(production_values())[("Ingress", "cc-callcenter-web")]
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert ingress["spec"]["tls"][0]["hosts"] == ["voice.example.com"]


def test_migrations_run_as_a_hook_before_new_pods() -> None:
    external = objects(production_values())
    job = external[("Job", "cc-callcenter-migrations")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    # Bundled Postgres only exists after install: the Job then runs post-install.
    bundled = objects()[("Job", "cc-callcenter-migrations")]
    assert bundled["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


def test_external_database_url_in_values_reaches_the_pre_install_job() -> None:
    values = with_changes(
        production_values(),
        {
            "postgresql": {
                "bundled": {"enabled": False},
                "external": {"url": "postgresql://u:p@db/cc", "existingSecret": ""},
            }
        },
    )
    found = objects(values)
    hook_secret = found[("Secret", "cc-callcenter-migrations")]
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"
    job_env = found[("Job", "cc-callcenter-migrations")]["spec"]["template"]["spec"]["containers"][
        0
    ]["env"]
    assert job_env[0]["valueFrom"]["secretKeyRef"]["name"] == "cc-callcenter-migrations"


def test_service_monitor_scrapes_every_metrics_service() -> None:
    found = objects(production_values())
    monitor = found[("ServiceMonitor", "cc-callcenter")]
    selector = monitor["spec"]["selector"]["matchLabels"]
    scraped = {
        name
        for (kind, name), obj in found.items()
        if kind == "Service"
        and all(obj["metadata"]["labels"].get(k) == v for k, v in selector.items())
    }
    assert scraped == {f"cc-callcenter-{c}" for c in ("web", "asr", "tts", "vllm")}


def with_changes(values: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(values)

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(merged, changes)
    return merged


REFUSED = [
    pytest.param(
        {"postgresql": {"bundled": {"enabled": False}}},
        "set postgresql.external.url or postgresql.external.existingSecret",
        id="no-database",
    ),
    pytest.param(
        {"postgresql": {"external": {"url": "postgresql://u:p@db/cc"}}},
        "postgresql: both bundled.enabled and external",
        id="two-databases",
    ),
    pytest.param(
        {"redis": {"bundled": {"enabled": False}}},
        "set redis.external.url or redis.external.existingSecret",
        id="no-broker",
    ),
    pytest.param(
        {"asr": {"resources": {"limits": {"nvidia.com/gpu": None}}}},
        "asr.resources.limits has no nvidia.com/gpu",
        id="asr-without-gpu",
    ),
    pytest.param(
        {"tts": {"resources": {"limits": {"nvidia.com/gpu": None}}}},
        "tts.resources.limits has no nvidia.com/gpu",
        id="xtts-without-gpu",
    ),
    pytest.param(
        {"vllm": {"resources": {"limits": {"nvidia.com/gpu": None}}}},
        "vllm.enabled needs vllm.resources.limits.nvidia.com/gpu",
        id="vllm-without-gpu",
    ),
    pytest.param(
        {"vllm": {"tensorParallelSize": 2}},
        "tensorParallelSize is larger than the GPUs",
        id="vllm-tp-over-gpus",
    ),
    pytest.param(
        {"environment": "production", "publicUrl": "http://callcenter.local"},
        "publicUrl must be https:// in production",
        id="production-http",
    ),
    pytest.param(
        {"environment": "production", "publicUrl": "https://callcenter.local"},
        "production needs Twilio credentials",
        id="production-placeholder-twilio",
    ),
    pytest.param(
        {"vllm": {"enabled": False}, "environment": "staging"},
        None,
        id="staging-embedded-llm-is-allowed",
    ),
    pytest.param(
        {"web": {"drainSeconds": 600}},
        "must exceed web.drainSeconds + web.preStopSleepSeconds",
        id="grace-shorter-than-drain",
    ),
    pytest.param(
        {"publicUrl": "https://elsewhere.example.com"},
        "does not point at web.ingress.host",
        id="public-url-not-ingress",
    ),
    pytest.param(
        {"llm": {"baseUrl": "http://llm:8000/v1", "model": "m"}},
        "both vllm.enabled and llm.baseUrl",
        id="two-llms",
    ),
    pytest.param(
        {"config": {"languages": "es,de"}},
        "config.defaultLanguage (en) must be one of config.languages (es,de)",
        id="default-language-not-spoken",
    ),
    pytest.param(
        {"config": {"languages": "es,de", "defaultLanguage": "es"}},
        None,
        id="english-may-be-left-out",
    ),
    pytest.param(
        {"asr": {"languageModels": "en=distil-large-v3"}},
        "asr.languageModels is for several languages",
        id="language-models-with-one-language",
    ),
    pytest.param(
        {"config": {"languages": "en,es"}, "asr": {"languageModels": "de=large-v3"}},
        "asr.languageModels names de, which is not in config.languages (en,es)",
        id="language-model-for-an-unspoken-language",
    ),
    pytest.param(
        {"config": {"extraEnv": {"CALLCENTER_LANGUAGES": "en,es"}}},
        "config.extraEnv.CALLCENTER_LANGUAGES: set config.languages instead",
        id="languages-in-extra-env",
    ),
]


@pytest.mark.parametrize(("changes", "message"), REFUSED)
def test_values_that_cannot_work_fail_fast(changes: dict[str, Any], message: str | None) -> None:
    if message is None:
        render(changes)  # renders: the combination works (or the check is production-only)
        return
    with pytest.raises(HelmRenderError, match=re.escape(message)):
        render(changes)


def test_production_without_an_llm_is_refused() -> None:
    values = with_changes(production_values(), {"vllm": {"enabled": False}})
    with pytest.raises(HelmRenderError, match=r"set llm\.baseUrl"):
        render(values)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"environment": "prod"}, "/environment"),
        ({"asr": {"batchSize": "16"}}, "/asr/batchSize"),
        ({"tts": {"engine": "espeak"}}, "/tts/engine"),
        ({"web": {"replicaCount": 3}}, "replicaCount"),
        ({"config": {"extraEnv": {"PATH": "/tmp"}}}, "'PATH' does not match"),
        ({"config": {"languages": "fr"}}, "/config/languages"),
        ({"config": {"languages": "en, es"}}, "/config/languages"),
        ({"config": {"defaultLanguage": "fr"}}, "/config/defaultLanguage"),
        ({"config": {"handoffLanguage": "english"}}, "/config/handoffLanguage"),
        ({"config": {"languageKeypad": "no"}}, "/config/languageKeypad"),
        ({"asr": {"languageModels": "distil-large-v3"}}, "/asr/languageModels"),
    ],
)
def test_the_values_schema_rejects_wrong_types_and_unknown_keys(
    changes: dict[str, Any], where: str
) -> None:
    with pytest.raises(HelmValuesError, match=where):
        render(changes)


def _env(found: dict[tuple[str, str], dict[str, Any]], component: str) -> dict[str, Any]:
    pod = found[("Deployment", f"cc-callcenter-{component}")]["spec"]["template"]["spec"]
    return {item["name"]: item for item in pod["containers"][0].get("env", [])}


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_security_secrets_reach_the_pods_and_never_a_built_in_default(configuration: str) -> None:
    found = objects(CONFIGURATIONS[configuration]())
    for component in ("web", "worker"):
        env = _env(found, component)
        for name in (
            "CALLCENTER_SECRET_KEY",
            "CALLCENTER_TWILIO_AUTH_TOKEN",
            "CALLCENTER_IDENTITY_PEPPER",
            "CALLCENTER_METRICS_TOKEN",
            "CALLCENTER_SPEECH_SERVICE_TOKEN",
        ):
            assert "secretKeyRef" in env[name]["valueFrom"], (component, name)
    for component in ("asr", "tts"):
        env = _env(found, component)
        # The speech services get their token and nothing else secret (least privilege).
        assert "secretKeyRef" in env["CALLCENTER_SPEECH_SERVICE_TOKEN"]["valueFrom"]
        assert "CALLCENTER_SECRET_KEY" not in env and "CALLCENTER_TWILIO_AUTH_TOKEN" not in env
    stored = found.get(("Secret", "cc-callcenter"))
    if stored is not None:
        import base64

        values = {k: base64.b64decode(v).decode() for k, v in stored["data"].items()}
        assert "dev-auth-token" not in values.values()
        assert "change-me-in-production-this-is-not-secret" not in values.values()


def test_the_service_monitor_sends_the_metrics_token() -> None:
    found = objects(production_values())
    endpoint = found[("ServiceMonitor", "cc-callcenter")]["spec"]["endpoints"][0]
    web_env = _env(found, "web")
    ref = web_env["CALLCENTER_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert endpoint["authorization"]["type"] == "Bearer"
    assert endpoint["authorization"]["credentials"] == {"name": ref["name"], "key": ref["key"]}
    # Probes stay anonymous: /healthz answers them without details.
    web = found[("Deployment", "cc-callcenter-web")]["spec"]["template"]["spec"]
    assert web["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_tool_networks_reach_the_config_and_production_needs_a_pepper() -> None:
    values = with_changes(production_values(), {"config": {"toolAllowedNetworks": "10.0.0.0/8"}})
    config = objects(values)[("ConfigMap", "cc-callcenter-config")]["data"]
    assert config["CALLCENTER_TOOL_ALLOWED_NETWORKS"] == "10.0.0.0/8"
    without = with_changes(production_values(), {"identityPepper": {"existingSecret": ""}})
    with pytest.raises(HelmRenderError, match="identityPepper"):
        render(without)


MULTILINGUAL = {
    "config": {
        "languages": "en,es,de",
        "defaultLanguage": "es",
        "handoffLanguage": "de",
        "languageKeypad": False,
        "languageVoices": "de=kokoro:jm_kumo",
    },
    "asr": {"languageModels": "en=distil-large-v3"},
}


def _settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings from a rendered environment alone (names and values checked)."""
    for name in [name for name in os.environ if name.startswith("CALLCENTER_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _plain_env(found: dict[tuple[str, str], dict[str, Any]], component: str) -> dict[str, str]:
    return {name: item["value"] for name, item in _env(found, component).items() if "value" in item}


def test_languages_reach_the_app_config_and_the_asr_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = objects(with_changes(production_values(), MULTILINGUAL))
    config = found[("ConfigMap", "cc-callcenter-config")]["data"]
    assert config["CALLCENTER_LANGUAGES"] == "en,es,de"
    assert config["CALLCENTER_DEFAULT_LANGUAGE"] == "es"
    assert config["CALLCENTER_HANDOFF_LANGUAGE"] == "de"
    assert config["CALLCENTER_LANGUAGE_KEYPAD"] == "false"
    assert config["CALLCENTER_LANGUAGE_VOICES"] == "de=kokoro:jm_kumo"
    for component in ("web", "worker"):
        pod = found[("Deployment", f"cc-callcenter-{component}")]["spec"]["template"]["spec"]
        sources = pod["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "cc-callcenter-config"}} in sources, component
    app = _settings(config, monkeypatch)
    assert app.language_codes == ("en", "es", "de") and app.default_language == "es"
    assert app.handoff_language == "de" and app.language_keypad is False
    assert app.language_voices == "de=kokoro:jm_kumo"
    # The ASR service hears every language: the multilingual model names each utterance's.
    asr_env = _plain_env(found, "asr")
    assert asr_env["CALLCENTER_LANGUAGES"] == "en,es,de"
    assert asr_env["CALLCENTER_ASR_MULTILINGUAL_MODEL"] == "large-v3"
    assert asr_env["CALLCENTER_LANGUAGE_ASR_MODELS"] == "en=distil-large-v3"
    asr = _settings(asr_env, monkeypatch)
    assert asr.multilingual and asr.language_codes == ("en", "es", "de")
    assert asr.asr_multilingual_model == "large-v3"
    assert asr.asr_models_by_language == {"en": "distil-large-v3"}


def test_the_default_install_speaks_english_only(monkeypatch: pytest.MonkeyPatch) -> None:
    found = objects()
    config = found[("ConfigMap", "cc-callcenter-config")]["data"]
    assert config["CALLCENTER_LANGUAGES"] == "en"
    assert config["CALLCENTER_DEFAULT_LANGUAGE"] == "en"
    assert "CALLCENTER_LANGUAGE_VOICES" not in config
    asr_env = _plain_env(found, "asr")
    assert asr_env["CALLCENTER_LANGUAGES"] == "en"
    assert "CALLCENTER_LANGUAGE_ASR_MODELS" not in asr_env
    asr = _settings(asr_env, monkeypatch)
    assert not asr.multilingual and asr.asr_model == "distil-large-v3"


def test_the_asr_service_starts_without_english(monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings refuse a default language that is not spoken: the pod gets both.
    found = objects({"config": {"languages": "es,de", "defaultLanguage": "de"}})
    asr = _settings(_plain_env(found, "asr"), monkeypatch)
    assert asr.language_codes == ("es", "de") and asr.default_language == "de"


def test_a_multilingual_install_is_valid_kubernetes() -> None:
    values = with_changes(production_values(), MULTILINGUAL)
    for _, document in documents(render(values)):
        validate(document, KUBE_VERSIONS[-1])
    assert helm_python.lint(CHART, values, strict=True)["errors"] == []
