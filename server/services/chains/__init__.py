"""Chaining services (服务串联): a chain document names inputs with their JSON Schema, steps
that each call a catalogued function service with arguments mapped by JMESPath from the
inputs and earlier steps (optionally `for_each` over a list and `when` to skip), and
outputs mapped from the steps. A chain is itself a catalogued function service, run at
`POST /api/v1/services/{id}/run`.

- `schema`    the published JSON Schema of a chain document
- `document`  checking a document before it is published (errors name step and field)
- `run`       running a chain: every step's input, output, time and error in a trace
- `shipped`   the chains PlanFuse ships (选址+合规), as JSON documents
"""
