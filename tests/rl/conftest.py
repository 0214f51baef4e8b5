import pytest


@pytest.fixture(autouse=True)
def _few_threads():
    """Tiny models run faster on one thread than on two busy cores."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
