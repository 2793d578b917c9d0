"""项目生成 (project generation): the project reserve (项目储备库), its XLSX exchange with
the bureaus, the pre-study of each project (预研预控) and the construction timing (建设时序).

- `fields`    the create body (the contract) checked field by field
- `projects`  the reserve's CRUD, per host app and per user for session callers
- `graph`     dependencies: unknown ids and cycles
- `workbook`  import and export in the bureaus' XLSX layout
"""
