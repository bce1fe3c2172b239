#!/usr/bin/env python3
"""Writes tools.json, the tool catalog of the search evaluation.

The tools are hand-written (in generate_part*.py) to look like real MCP servers across
commerce, CRM, support, HR, finance, DevOps, monitoring, code hosting, calendar, email,
chat, storage, wiki, analytics, maps, marketing and travel, with deliberate look-alikes
across targets (cart/catalog get_item, crm/email search_contacts, email/chat send_message,
calendar/analytics list_events, finance/orders get_invoice, ...).

Run: python3 tests/search-eval/generate.py   (no dependencies; output is deterministic)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generate_part1  # noqa: E402
import generate_part2  # noqa: E402
import generate_part3  # noqa: E402


def main():
    tools = generate_part1.TOOLS + generate_part2.TOOLS + generate_part3.TOOLS
    names = [f"{t['target']}___{t['name']}" for t in tools]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        sys.exit(f"duplicate tools: {sorted(dupes)}")
    with open(os.path.join(HERE, "tools.json"), "w") as f:
        json.dump({"separator": "___", "tools": tools}, f, indent=1)
        f.write("\n")
    targets = sorted({t["target"] for t in tools})
    print(f"{len(tools)} tools across {len(targets)} targets: {', '.join(targets)}")


if __name__ == "__main__":
    main()
