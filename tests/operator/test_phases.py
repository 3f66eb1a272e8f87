import pytest

from pr_operator.phases import TransitionError, can_transition, check_transition, is_final
from prreview_api import Phase


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (None, Phase.QUEUED),
        (Phase.QUEUED, Phase.RUNNING),
        (Phase.QUEUED, Phase.SUPERSEDED),
        (Phase.QUEUED, Phase.CANCELLED),
        (Phase.QUEUED, Phase.SUCCEEDED),
        (Phase.RUNNING, Phase.SUCCEEDED),
        (Phase.RUNNING, Phase.FAILED),
        (Phase.RUNNING, Phase.SUPERSEDED),
        (Phase.RUNNING, Phase.QUEUED),
    ],
)
def test_allowed_transition_passes(current, target):
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize("final", Phase.FINAL)
@pytest.mark.parametrize("target", Phase.ALL)
def test_final_phase_never_changes(final, target):
    assert not can_transition(final, target)
    with pytest.raises(TransitionError, match=f"phase {final} cannot change to {target}"):
        check_transition(final, target)


def test_new_resource_cannot_start_running():
    with pytest.raises(TransitionError, match="phase <none> cannot change to Running"):
        check_transition(None, Phase.RUNNING)


def test_final_phases_are_final():
    assert [phase for phase in Phase.ALL if is_final(phase)] == list(Phase.FINAL)
    assert not is_final(None)
