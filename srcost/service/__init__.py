"""``srcost serve``: the calibration store, the fitted cost models and the job runner behind an HTTP API.

Modules, each small and named for what it holds:

- ``config``: the server's settings (``ServiceConfig``) and request limits (``Limits``);
- ``auth``: API tokens (only their SHA-256 is stored) and the bearer-token check;
- ``limits``: the checks of a request's size, its expression count and each expression's node count;
- ``schemas``: the request and response bodies (pydantic), which OpenAPI at ``/docs`` shows;
- ``predictor``: predictions, batched across concurrent requests on one thread that keeps the models warm;
- ``tasks``: the work that runs in a worker process (synthesis batches, profile batches, validation, search);
- ``jobs``: the job manager: jobs in the store, their tasks on the local process pool or a Dask cluster;
- ``app``: the FastAPI application (routes under ``/v1``); ``server``: starting it with uvicorn.

Nothing here is imported by ``srcost`` at start-up; ``srcost serve`` imports it.
"""
