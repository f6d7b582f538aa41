"""The results page in a real browser (Debian's Chromium through Playwright) at a desktop width (1280 px) and on a
tablet held upright (820 px): it opens with the answer (the pre-registered verdicts, at most three sentences) beside
the headline chart and the AUC panel, the main comparisons come before the detailed tables (folded, each with a
one-line reading), and no table is wider than its box. Screenshots (first screen and full page) in var/screenshots."""
import numpy as np
import pytest

from readerstudy.studies.models import Case
from tests.browser.conftest import SCREENSHOTS
from tests.factories import cast_votes_fast, create_cases_fast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 860), "tablet": (820, 1180)}
FINDINGS = ("atelectasis", "cardiomegaly", "effusion", "infiltration", "pneumonia", "pneumothorax")
PASSES = {"real": 0.9, "stargan": 0.0, "pix2pix": 0.35, "pix2pix-n": 0.55}  # nobody calls a StarGAN image real


@pytest.fixture
def results_study(study_factory, reader_factory, staff_user):
    from django.utils import timezone

    from readerstudy.results.analysis_plan import plan_set
    from readerstudy.studies.models import Study

    study = study_factory("paper", status="draft", name="Chest X-ray reader study", ask_confidence=True)
    plan_set(study, staff_user, endpoint="called_real", test="non_inferiority", margin=0.10, alpha=0.05)
    Study.objects.filter(pk=study.pk).update(status="closed", opened_at=timezone.now(), closed_at=timezone.now())
    for finding in FINDINGS:
        for source in PASSES:
            create_cases_fast(study, finding, source, 6)
    cases = list(Case.objects.filter(study=study).select_related("source"))
    rng = np.random.default_rng(18)
    for _ in range(3):
        membership = reader_factory(study)
        cast_votes_fast(membership, [(case, "real" if rng.random() < PASSES[case.source.slug] else "fake",
                                      int(rng.integers(1, 6))) for case in cases])
    return study


# Every table wider than the box it sits in (its scroll wrapper, else its parent), and the page wider than the window.
OVERFLOWS = """() => {
  const out = [];
  for (const table of document.querySelectorAll('.results table')) {
    const box = table.closest('.scroll') || table.parentElement;
    if (table.offsetParent !== null && table.scrollWidth > box.clientWidth + 1) {
      out.push((table.id || table.closest('details')?.id || 'table') + ': ' + table.scrollWidth + ' > '
               + box.clientWidth);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) { out.push('page: '
      + document.documentElement.scrollWidth + ' > ' + window.innerWidth); }
  return out;
}"""


def wait_for_image(page, selector: str) -> None:
    """Until the image has loaded (a function, not a string: the page's CSP forbids eval)."""
    page.wait_for_function("selector => { const image = document.querySelector(selector); "
                           "return image.complete && image.naturalWidth > 0; }", arg=selector)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_results_page_leads_with_the_answer_and_no_table_overflows(page, live_server, results_study, device):
    width, height = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("button[type=submit]")
    page.goto(live_server.url + "/studies/paper/results/")
    wait_for_image(page, "#headline-chart img")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"results-first-screen-{device}.png"))
    answer = page.inner_text("#summary")
    assert answer.startswith("Pre-registered non-inferiority test on the called-real rate")
    assert "StarGAN" in answer and "fail" in answer and "p = < " not in page.content()
    assert page.locator("#auc-panel .auc-row").count() == 3
    assert page.locator("#headline-chart").bounding_box()["y"] < height
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")

    tops = page.evaluate("""ids => ids.map(id => document.getElementById(id).getBoundingClientRect().top
                                                 + window.scrollY)""",
                         ["summary", "headline-chart", "comparisons", "details", "table1", "agreement"])
    assert tops == sorted(tops)
    assert tops[1] < height  # the headline chart is in the first screenful
    assert "Between generators" in page.inner_text("#in-words")
    assert page.evaluate(OVERFLOWS) == []

    page.locator("#reader-chart img").scroll_into_view_if_needed()  # lazy-loaded: fetched once in view
    wait_for_image(page, "#reader-chart img")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"results-page-{device}.png"), full_page=True)

    # the probe does see a table wider than its box
    page.add_style_tag(content="#agreement { min-width: 1400px; }")
    assert any(line.startswith("agreement") for line in page.evaluate(OVERFLOWS))
