import inspect

import feeds


def test_public_surface_is_exactly_all() -> None:
    public = {name for name, value in vars(feeds).items() if not name.startswith("_")}
    submodules = {name for name in public if inspect.ismodule(getattr(feeds, name))}
    assert public - submodules == set(feeds.__all__)


def test_the_surface_holds_what_callers_need() -> None:
    assert sorted(feeds.__all__) == [
        "ADAPTERS",
        "FeedsError",
        "FetchError",
        "FormatNotDetectedError",
        "InvalidDocumentError",
        "Limits",
        "Media",
        "NAMES",
        "ParseError",
        "ParsedSnapshot",
        "ParsedUpdate",
        "detect",
        "parse",
        "redact_credentials",
    ]
