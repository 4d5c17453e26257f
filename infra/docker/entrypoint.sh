#!/bin/sh
# Points the workspace's DVC default remote at object storage, then runs the command.
#
# seqpipe adds a local `.dvc/storage` remote to a workspace that has no default
# remote. Containers start from an empty workspace, so without this step their data
# versions would stay inside the container. SEQPIPE_DVC_REMOTE_URL is unset outside
# these images, which leaves local runs alone.
set -eu

if [ -n "${SEQPIPE_DVC_REMOTE_URL:-}" ]; then
    workspace="${SEQPIPE_WORKSPACE:-$PWD}"
    mkdir -p "$workspace"
    (
        cd "$workspace"
        if [ ! -d .dvc ]; then
            # Same choice as seqpipe makes: --no-scm unless the workspace is a git checkout.
            if [ -e .git ]; then dvc init --quiet; else dvc init --quiet --no-scm; fi
        fi
        # --force makes this idempotent across restarts and picks up a changed URL.
        dvc remote add --default --force s3remote "$SEQPIPE_DVC_REMOTE_URL" >/dev/null
        if [ -n "${MLFLOW_S3_ENDPOINT_URL:-}" ]; then
            dvc remote modify s3remote endpointurl "$MLFLOW_S3_ENDPOINT_URL"
        fi
    )
fi

exec "$@"
