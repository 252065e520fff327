"""Generation preconditions for the GCS emulator, which ignores them (gcp-storage-emulator).

Real Cloud Storage refuses an upload or delete with `ifGenerationMatch=G` (412) unless the
object's generation is G (0: the object must not exist). The engine cache's claim protocol
relies on that, so its emulator tests install this check into the emulator's request
handlers; `honour_generation_preconditions()` is idempotent. The emulator's HTTP server is
single-threaded, so check-then-write is atomic as on the real service.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import Any

_INSTALLED: list[bool] = []


def _current_generation(storage: Any, bucket: str, name: str) -> str:
    from gcp_storage_emulator.exceptions import NotFound

    try:
        return str(storage.get_file_obj(bucket, name).get("generation") or "0")
    except NotFound:
        return "0"


def _refuse(response: Any, name: str, wanted: str, present: str) -> None:
    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json(
        {
            "error": {
                "code": 412,
                "message": f"{name}: ifGenerationMatch={wanted} but the generation is {present}",
                "errors": [{"reason": "conditionNotMet", "message": "Precondition Failed"}],
            }
        }
    )


def _object_name(request: Any) -> str | None:
    if "object_id" in request.params:
        return str(request.params["object_id"])
    if "name" in request.query:
        return str(request.query["name"][0])
    data = request.data
    if isinstance(data, dict) and isinstance(data.get("meta"), dict):
        return data["meta"].get("name")
    return None


def _checked(handler: Any) -> Any:
    @functools.wraps(handler)
    def wrapper(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
        wanted = request.query.get("ifGenerationMatch")
        name = _object_name(request)
        if wanted and name is not None:
            present = _current_generation(storage, request.params["bucket_name"], name)
            if present != wanted[0]:
                return _refuse(response, name, wanted[0], present)
        return handler(request, response, storage, *args, **kwargs)

    wrapper.generation_checked = True  # type: ignore[attr-defined]
    return wrapper


def honour_generation_preconditions() -> None:
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    if _INSTALLED:
        return
    insert, delete = objects.insert, objects.delete
    checked_insert, checked_delete = _checked(insert), _checked(delete)
    for _, handlers in server.HANDLERS:
        for method, handler in list(handlers.items()):
            if handler is insert:
                handlers[method] = checked_insert
            elif handler is delete:
                handlers[method] = checked_delete
    objects.insert = checked_insert
    _INSTALLED.append(True)
