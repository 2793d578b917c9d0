"""Coordinated approval (协同审批): one project, many departments giving their opinions in
parallel on the same frozen 多规合一 evidence, each from its own system.

- `cases`: open a case for a registered project (freezing the evidence), read and list
  cases, close (by the outcome rule) or withdraw;
- `opinions`: a department's opinion and its revisions (append-only history);
- `attachments`: the files an opinion carries, checked for what they say they are;
- `evidence`: what is frozen at opening (compliance report, conflicts touching the red line);
- `rules`: the outcome rule (data); `calendar`: working days and deadlines (办理时限);
- `access`: who sees a case and acts on it (the opening app, the departments named).
"""
