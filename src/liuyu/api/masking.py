"""Personal data is masked for roles that may not see it (everyone but admin and supervisor)."""

from __future__ import annotations

import copy
from typing import Any

from liuyu.domain.customers.identifiers import STRONG_KINDS, mask_name, mask_value
from liuyu.services.accounts import Principal

PII_KINDS = STRONG_KINDS - {"member_no"}
PII_TRAITS = ("name", "address", "phone", "email", "birthday", "receiver_name", "receiver_mobile")


def mask_summary(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii:
        return row
    return {**row, "name": mask_name(row.get("name")), "phone": row.get("phone") and mask_value("phone", row["phone"])}


def mask_view(view: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii:
        return view
    out = copy.deepcopy(view)
    customer = out["customer"]
    customer["name"] = mask_name(customer.get("name"))
    customer["address"] = customer.get("address") and mask_value("address", customer["address"])
    customer["birthday"] = customer.get("birthday") and customer["birthday"][:4] + "-**-**"
    for ident in out["identifiers"]:
        if ident["kind"] in PII_KINDS and not ident["masked"]:
            ident["value"] = mask_value(ident["kind"], ident["value"])
    for merge in out["merges"]:
        found = merge.get("evidence", {}).get("identifier")
        if found and found.get("kind") in PII_KINDS:
            found["value"] = mask_value(found["kind"], found["value"])
    for event in out["timeline"]:
        payload = event.get("payload") or {}
        payload["identifiers"] = [
            [k, mask_value(k, v) if k in PII_KINDS and not m else v, m, ver]
            for k, v, m, ver in payload.get("identifiers", [])
        ]
        traits = payload.get("traits") or {}
        for key in PII_TRAITS:
            if traits.get(key):
                traits[key] = mask_value("name" if key.endswith("name") else key, str(traits[key]))
    return out
