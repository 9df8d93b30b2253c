#!/bin/bash
# libiscsi's conformance families through the gateway while one of its paths fails and comes
# back every 6 s (issue 11, item 4): the results must be those of the same run without faults.
# See test-conformance.sh --faults.
exec bash "$RDP_SRC/tests/vm/test-conformance.sh" --faults "$@"
