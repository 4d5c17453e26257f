"""Stage functions of each family's pipeline; Prefect tasks in ``pipelines`` wrap them."""
