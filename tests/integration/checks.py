"""checks.py - the tally of named checks that the integration scripts share.

A script makes one Tally, calls tally.check(name, condition, detail) for each
thing it verifies, and ends with tally.finish(): every failure is printed with
its detail, then the totals, and the exit status says whether all passed.
"""
import os
import sys
import threading


class Tally:
    def __init__(self, detail_limit=None):
        self.passed = 0
        self.failures = []
        self._detail_limit = detail_limit  # characters of a failure's detail kept (None: all)
        self._lock = threading.Lock()  # some scripts check from several threads

    def check(self, name, cond, detail=""):
        """Counts one check; a failed one keeps its name and detail for the report. Returns cond."""
        with self._lock:
            if cond:
                self.passed += 1
            else:
                d = str(detail)
                if self._detail_limit is not None:
                    d = d[:self._detail_limit]
                self.failures.append(f"{name}: {d}")
        return cond

    def finish(self, skipped=None, note="", max_listed=None):
        """Prints the failures (the first max_listed) and the totals, then exits.

        `skipped` names why the script's main part could not run (live capture
        without root): it then exits 77, ctest's "skipped", unless
        SEGSCOPE_REQUIRE_LIVE=1 makes that a failure. Any failure exits 1.
        """
        for f in self.failures[:max_listed]:
            print("FAIL", f)
        print(f"{self.passed} passed, {len(self.failures)} failed{note}" + (f" ({skipped})" if skipped else ""))
        if self.failures:
            sys.exit(1)
        if skipped:
            sys.exit(1 if os.environ.get("SEGSCOPE_REQUIRE_LIVE") == "1" else 77)
        sys.exit(0)
