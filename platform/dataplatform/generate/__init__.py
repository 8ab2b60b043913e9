"""The `dataplatform generate` command's Python API: a domain's generator run over a range of
days and written by one of the registered writers to a folder or bucket.

`library.py` is the public entry (`from dataplatform.generate.library import generate`),
`export.py` the one request -> check -> write path the command and the library share,
`writers/` the output formats. The generators themselves live in their domain packages
(`dataplatform.domains`), so this package sits above them.
"""
