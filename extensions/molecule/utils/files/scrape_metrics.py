#!/usr/bin/env python
"""Scrape node_exporter over loopback inside the container; print its netvsc_* and textfile
collector samples as JSON, parsed by Prometheus' own Python parser (python3-prometheus-client).

Argument: the metrics URL. Retries for a few seconds while node_exporter starts.
"""
import json
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def fetch(url, attempts=40):
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8")
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)
    return ""


def main():
    samples = []
    for family in text_string_to_metric_families(fetch(sys.argv[1])):
        for sample in family.samples:
            if sample.name.startswith(("netvsc_", "node_textfile_")):
                samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value,
                                "type": family.type})
    print(json.dumps(samples, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
