"""MkDocs hook: the run records under results/ become part of the site.

Pages link to a record as `../results/<topic>/<run>/<file>`, a path that also
resolves in the repository, so the same link works on GitHub, in an editor and
in the built site. Each record is added as a static file (its README.md is copied,
not rendered), so `mkdocs build --strict` checks those links like any other.
"""

from pathlib import Path

from mkdocs.structure.files import File, InclusionLevel

ROOT = Path(__file__).resolve().parents[1]


class RecordFile(File):
    """A file copied as it is, whatever its extension."""

    def is_documentation_page(self):
        return False

    def is_static_page(self):
        return False


def on_files(files, config):
    docs = Path(config["docs_dir"])
    for path in sorted((ROOT / "results").rglob("*")):
        if path.is_file():
            relative = path.relative_to(ROOT).as_posix()
            files.append(
                RecordFile(
                    Path("..", relative).as_posix(),
                    src_dir=str(docs),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                    dest_uri=relative,
                    inclusion=InclusionLevel.INCLUDED,  # its '..' would read as a hidden path
                )
            )
    return files
