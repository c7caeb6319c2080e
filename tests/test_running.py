"""models.running.run_network: runs the network, and leaves the garbage collector as it found it."""
import gc

import pytest
from brian2 import ms, Network, NeuronGroup, prefs
from brian2.utils.logger import catch_logs

from brian2learn.models.running import run_network


@pytest.fixture(autouse=True)
def numpy_target():
    before = prefs.codegen.target
    prefs.codegen.target = "numpy"   # no compilation for these two tiny networks
    yield
    prefs.codegen.target = before


def test_run_network_runs_and_unfreezes():
    g = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", method="exact")
    g.v = 1
    net = Network(g)
    run_network(net, 1 * ms)
    assert float(net.t / ms) == pytest.approx(1.0)
    assert g.v[0] == pytest.approx(0.904837, rel=1e-5)   # exp(-1/10)
    assert gc.get_freeze_count() == 0


def test_run_network_unfreezes_after_an_error():
    with catch_logs():   # Brian2 warns that the group never ran when it is collected
        g = NeuronGroup(1, "dv/dt = -v/tau : 1", method="exact")   # tau is not defined
        with pytest.raises(Exception, match="tau"):
            run_network(Network(g), 1 * ms)
        assert gc.get_freeze_count() == 0
        del g
        gc.collect()
