"""The tables the pipeline passes on: each declared once (columns, typed row, one reader, one
writer) in a module of its own; no other module parses these files (``table.Table``)."""
