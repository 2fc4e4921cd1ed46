"""Building a `KubernetesCluster` from settings (token, kubeconfig or in-cluster)."""

from tools.cluster.kubernetes import KubernetesCluster
from tools.errors import ConfigError
from world.settings import Settings


def kubernetes_cluster(settings: Settings) -> KubernetesCluster:
    """Connect as the settings say: explicit URL + token, else kubeconfig, else in-cluster."""
    from kubernetes import client, config

    if settings.kube_api_url:
        configuration = client.Configuration()
        configuration.host = settings.kube_api_url
        configuration.verify_ssl = settings.kube_verify_tls
        configuration.retries = 0
        if settings.kube_token is not None:
            configuration.api_key = {"authorization": settings.kube_token.get_secret_value()}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        api = client.ApiClient(configuration)
    else:
        try:
            config.load_kube_config(context=settings.kube_context)  # type: ignore[no-untyped-call]
        except (config.ConfigException, FileNotFoundError, TypeError):
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException as exc:
                raise ConfigError(
                    "no Kubernetes configuration found: set LOTSEN_KUBE_API_URL "
                    "(+ LOTSEN_KUBE_TOKEN), a kubeconfig, or run in-cluster"
                ) from exc
        api = client.ApiClient()
    return KubernetesCluster(api, trainer_image=settings.trainer_image)
