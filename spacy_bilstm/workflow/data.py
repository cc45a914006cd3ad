"""Check that the real corpora a workflow needs are in place.

The `real` workflow reads corpora that cannot ship with the package. When
one is missing, this says which path was expected and where the file comes
from (the URL of its asset in project.yml), instead of a traceback from a
later step.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..errors import InputError

DATA_DIR_VAR = "${vars.data_dir}/"


@dataclass(frozen=True)
class MissingData:
    """A required file that is not there.

    paths (List[Path]): Where it was looked for (any one of them would do).
    sources (List[str]): For each path, its asset's URL and description ("" if none).
    """

    paths: List[Path]
    sources: List[str]

    def message(self) -> str:
        """One line: what is missing and how to get it."""
        options = []
        for path, source in zip(self.paths, self.sources):
            options.append(f"{path}" + (f" ({source})" if source else ""))
        return "not found: " + " or ".join(options)


def data_assets(project_file: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """The assets of a project.yml that live in the data directory.

    project_file (Union[str, Path]): The project.yml.
    RETURNS (Dict[str, Dict[str, str]]): Path relative to the data directory
        -> {"url": ..., "description": ...} (empty strings when unset).
    RAISES (InputError): If the file is missing or not a project file.
    """
    import srsly

    project_file = Path(project_file)
    if not project_file.is_file():
        raise InputError("project file not found", path=project_file, reason="missing_file")
    try:
        config = srsly.read_yaml(project_file)
    except ValueError as err:
        raise InputError(f"not valid YAML: {err}", path=project_file, reason="bad_yaml") from None
    if not isinstance(config, dict) or not isinstance(config.get("assets", []), list):
        raise InputError("expected a mapping with an 'assets' list", path=project_file, reason="bad_yaml")
    found = {}
    for asset in config.get("assets", []):
        dest = asset.get("dest", "") if isinstance(asset, dict) else ""
        if isinstance(dest, str) and dest.startswith(DATA_DIR_VAR):
            found[dest[len(DATA_DIR_VAR):]] = {
                "url": str(asset.get("url") or ""),
                "description": str(asset.get("description") or ""),
            }
    return found


def missing_data(
    data_dir: Union[str, Path],
    required: Sequence[str],
    assets: Optional[Dict[str, Dict[str, str]]] = None,
) -> List[MissingData]:
    """The required files that are missing from the data directory.

    data_dir (Union[str, Path]): The data directory.
    required (Sequence[str]): Paths relative to it; ``a|b`` means either
        will do (e.g. a converted file or the archive it is built from).
    assets (Optional[Dict[str, Dict[str, str]]]): From `data_assets`.
    RETURNS (List[MissingData]): One entry per requirement not met, in order.
    """
    data_dir = Path(data_dir)
    assets = assets or {}
    missing = []
    for requirement in required:
        options = [option.strip() for option in requirement.split("|") if option.strip()]
        if any((data_dir / option).is_file() for option in options):
            continue
        sources = []
        for option in options:
            asset = assets.get(option, {})
            parts = [asset.get("description", ""), f"URL {asset['url']}" if asset.get("url") else ""]
            sources.append("; ".join(part for part in parts if part))
        missing.append(MissingData([data_dir / option for option in options], sources))
    return missing
