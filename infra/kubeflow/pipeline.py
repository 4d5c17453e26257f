"""A family's flow as a Kubeflow Pipelines v2 pipeline.

Each stage is a step running the project image (infra/docker/Dockerfile) with
``seqpipe run FAMILY --until STAGE``: validate the data and train the baselines, then train and
evaluate every other model in parallel steps, then gate and register. The steps share one
workspace on a PersistentVolumeClaim (data, DVC cache, Prefect's result cache), so each step
finds the earlier steps' stages finished and cached rather than running them again; runs and
models go to the MLflow server named in the ``seqpipe-config`` ConfigMap (infra/k8s/config.yaml).

This file imports only the kfp SDK: the family's model names come as arguments
(``python -m pipelines.kubeflow`` passes them from the family's config).

    python pipeline.py --family forecasting --baseline naive_seasonal --model gru \
        --model sarima --out forecasting.yaml
"""

# No ``from __future__ import annotations``: kfp reads the component signatures' types.
import argparse
from pathlib import Path

from kfp import compiler, dsl, kubernetes

WORKSPACE = "/workspace"


def family_pipeline(
    family: str,
    models: list[str],
    baselines: list[str],
    image: str,
    claim: str,
    parallelism: int,
) -> dsl.graph_component.GraphComponent:
    """The pipeline of one family: validate the data and train the baselines (every model is
    scored against them), then each other model in its own step, then the registry gate."""
    run = ["run", family]
    baseline_options = [option for name in baselines for option in ("--model", name)]

    @dsl.container_component
    def validate_and_baselines(profile: str) -> dsl.ContainerSpec:
        until = ["--until", "evaluate", *baseline_options]
        return dsl.ContainerSpec(image, ["seqpipe"], [*run, "--profile", profile, *until])

    @dsl.container_component
    def train_and_evaluate(profile: str, model: str) -> dsl.ContainerSpec:
        until = ["--until", "evaluate", "--model", model]
        return dsl.ContainerSpec(image, ["seqpipe"], [*run, "--profile", profile, *until])

    @dsl.container_component
    def register(profile: str) -> dsl.ContainerSpec:
        until = ["--until", "register"]
        return dsl.ContainerSpec(image, ["seqpipe"], [*run, "--profile", profile, *until])

    def on_the_cluster(task: dsl.PipelineTask) -> dsl.PipelineTask:
        kubernetes.mount_pvc(task, pvc_name=claim, mount_path=WORKSPACE)
        kubernetes.use_config_map_as_env(
            task,
            config_map_name="seqpipe-config",
            config_map_key_to_env={
                key: key
                for key in ("MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION")
            },
        )
        task.set_env_variable("SEQPIPE_WORKSPACE", WORKSPACE)
        task.set_env_variable("PREFECT_HOME", f"{WORKSPACE}/.prefect")  # the shared cache
        # seqpipe caches on the data version and config itself; Kubeflow's cache would skip
        # a step whose inputs are the same even after the data changed.
        task.set_caching_options(False)
        return task

    others = [name for name in models if name not in baselines]

    description = f"{family}: validate, train each model, register (seqpipe)"

    @dsl.pipeline(name=f"seqpipe-{family}", description=description)
    def pipeline(profile: str = "quick") -> None:
        checked = on_the_cluster(validate_and_baselines(profile=profile))
        with dsl.ParallelFor(items=others, parallelism=parallelism) as model:
            trained = on_the_cluster(train_and_evaluate(profile=profile, model=model))
            trained.after(checked)
        on_the_cluster(register(profile=profile)).after(trained)

    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True)
    parser.add_argument("--model", action="append", required=True, dest="models")
    parser.add_argument("--baseline", action="append", required=True, dest="baselines")
    parser.add_argument("--image", default="seqpipe:0.1.0")
    parser.add_argument("--claim", default="seqpipe-workspace", help="PersistentVolumeClaim")
    parser.add_argument("--parallelism", type=int, default=2, help="models trained at once")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    pipeline = family_pipeline(
        args.family, args.models, args.baselines, args.image, args.claim, args.parallelism
    )
    compiler.Compiler().compile(pipeline, str(args.out))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
