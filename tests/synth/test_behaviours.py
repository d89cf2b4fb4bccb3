"""Each ring behaviour and each look-alike group shows in the tables as planted.

One population of 8,000 accounts plants every later knob: rings on a shared template bank,
created evenly over months, whose accounts take turns working a few days each, on popular or rare BINs, residential proxies shared with real
homes, mixed or no proxies, waves, night and batch schedules, a ring dressed as a company,
and every look-alike group (classroom, evaluation company, framework developers, hackathon,
sign-up wave) with diurnal legitimate activity.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from graphsleuth.detection.features import UTC_OFFSET_HOURS
from graphsleuth.synth import generate, load_scenario
from graphsleuth.synth.accounts import FREE_MAIL
from graphsleuth.synth.prompt_text import _PREFIXES, phrasing_texts, template_texts

HOUR, DAY, WEEK = 3600, 86_400, 7 * 86_400

SCENARIO = """
name = "behaviours"
[population]
accounts = 8000
diurnal = true
benign_templates = 400

[legit]
classroom = 0.03
classroom_size = [100, 200]
eval_company = 0.01
eval_company_seats = [20, 60]
framework_dev = 0.05
hackathon = 0.02
hackathon_size = [100, 200]
signup_wave = 0.1
signup_wave_size = [300, 800]
starter_kit_users = 0.1

[[banks]]
name = "toolkit"
templates = { cot = 4, tool_use = 3, coding = 3, grading = 2 }
power_users = 0.3

[[rings]]
name = "kit-even"
accounts = 400
requests = 400000
templates = {}
bank = "toolkit"
creation = "even"
creation_days = 120.0
payment = "card_per_account"
bin_source = "popular"
bins = 20
proxies = "residential"
proxy_overlap = 0.9
proxy_ips = 300
camouflage = 0.6
sync_days = []
waves = 12
sync_share = 0.3
wave_hours = 0.5
phrasings = 6

[[rings]]
name = "kit-night"
accounts = 300
requests = 300000
templates = { cot = 3, coding = 2 }
bank = "toolkit"
bank_templates = 6
payment = "shared_cards"
cards = 30
bins = 2
bin_source = "rare"
proxies = "datacenter"
proxy_ips = 30
sync_days = []
sync_share = 0.0
schedule = "night"

[[rings]]
name = "dressed"
accounts = 200
requests = 200000
templates = { grading = 3, cot = 2 }
dressed_as_company = true
creation = "even"
creation_days = 21.0
proxies = "datacenter"
proxy_ips = 4
sync_days = []
schedule = "night"

[[rings]]
name = "bare"
accounts = 150
requests = 120000
templates = { tool_use = 3 }
payment = "none"
proxies = "none"
sync_days = []
schedule = "daily_batches"

[[rings]]
name = "mixed"
accounts = 200
requests = 150000
templates = { coding = 4 }
sync_share = 0.2
proxies = "mixed"
proxy_ips = 60
payment = "card_per_account"
bins = 40

[[rings]]
name = "rotating"
accounts = 200
requests = 150000
templates = { cot = 3 }
account_days = 4.0
creation = "even"
proxies = "residential"
proxy_ips = 40
sync_days = []
"""


@pytest.fixture(scope="module")
def pop(tmp_path_factory):
    root = tmp_path_factory.mktemp("behaviours")
    path = root / "behaviours.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    population = generate(path, seed=4, out=root / "evidence")
    truth = population.frame("truth")
    who = truth.rename(columns={"kind": "who"})
    frames = {name: population.frame(name).merge(who, on="account_id") for name in ("accounts", "payments", "ips", "prompts")}
    frames["prompts"]["t"] = _seconds(frames["prompts"].ts)
    frames["accounts"]["created"] = _seconds(frames["accounts"].created_at)
    frames["accounts"]["domain"] = frames["accounts"].email.str.split("@").str[1]
    traits = json.loads((root / "evidence" / "truth_rings.json").read_text())
    return population, truth, frames, {r["ring_id"]: r for r in traits["rings"]}, root


def _seconds(text: pd.Series) -> pd.Series:
    return (pd.to_datetime(text, utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)


def _senders(prompts: pd.DataFrame) -> pd.Series:
    return prompts.groupby("template_id").account_id.nunique()


def _circular_span(values: np.ndarray, period: int) -> int:
    """The shortest arc of a circle of ``period`` that holds every value."""
    v = np.sort(np.asarray(values) % period)
    gaps = np.diff(np.r_[v, v[0] + period])
    return int(period - gaps.max())


def _best_window_share(values: np.ndarray, period: int, width: int) -> float:
    """The largest share of ``values`` (mod ``period``) in one window of ``width``."""
    v = np.sort(np.asarray(values) % period)
    doubled = np.r_[v, v + period]
    return float((np.searchsorted(doubled, v + width, side="right") - np.arange(len(v))).max() / len(v))


# --- rings -------------------------------------------------------------------------------------


def test_a_ring_dressed_as_a_company_shares_one_company_domain_one_corporate_card_and_one_country(pop):
    _, _, f, traits, _ = pop
    members = f["accounts"][f["accounts"].ring_id == "dressed"]
    assert members.domain.nunique() == 1 and members.domain.iloc[0] not in set(FREE_MAIL)
    assert set(f["accounts"].loc[f["accounts"].domain == members.domain.iloc[0], "ring_id"]) == {"dressed"}
    assert members.country.value_counts().iloc[0] == len(members)
    cards = f["payments"][f["payments"].ring_id == "dressed"]
    assert cards.payment_id.nunique() == 1 and cards.account_id.nunique() == len(members) and set(cards.kind) == {"card"}
    span = members.created.max() - members.created.min()
    assert 14 * DAY <= span <= 21 * DAY
    t = traits["dressed"]["traits"]
    assert t["dressed_as_company"] and t["shares_cards"] and not t["bulk_bins"] and not t["bursty_creation"]


def test_an_evenly_created_ring_has_no_burst(pop):
    _, _, f, traits, _ = pop
    created = np.sort(f["accounts"].loc[f["accounts"].ring_id == "kit-even", "created"].to_numpy())
    assert created[-1] - created[0] >= 110 * DAY
    per_window = np.searchsorted(created, created + 72 * HOUR, side="right") - np.arange(len(created))
    assert per_window.max() <= 0.06 * len(created)  # about 72 h / 120 days of them, never a burst
    per_day = np.bincount((created - created[0]) // DAY)
    assert per_day.max() <= 5 * max(1.0, len(created) / 120)
    assert traits["kit-even"]["traits"]["bursty_creation"] is False
    assert traits["kit-even"]["traits"]["creation"] == "even"


def test_a_rotating_rings_accounts_each_work_a_few_days_and_take_turns_through_the_window(pop):
    population, _, f, traits, _ = pop
    rows = f["prompts"][f["prompts"].ring_id == "rotating"]
    span = rows.groupby("account_id")["t"].agg(lambda t: t.max() - t.min())
    assert span.max() <= 4 * DAY  # no account works longer than its turn
    start = population.scenario.population.start_s
    days = population.scenario.population.days
    worked = np.unique((rows["t"].to_numpy() - start) // DAY)
    assert len(worked) >= 0.9 * days  # yet the ring is at work nearly every day of the window
    created = f["accounts"].loc[f["accounts"].ring_id == "rotating", "created"]
    assert (created >= start).mean() >= 0.8  # its accounts are created as they take their turn
    assert traits["rotating"]["traits"]["account_days"] == 4.0


def test_rings_on_one_bank_share_templates_and_one_campaign_and_power_users_send_some(pop):
    _, truth, f, traits, _ = pop
    prompts = f["prompts"]
    ordinary = set(prompts.loc[prompts.ring_id.eq("") & prompts.who.ne("heavy"), "template_id"])  # camouflage
    used = {ring: set(prompts.loc[prompts.ring_id == ring, "template_id"]) - ordinary for ring in ("kit-even", "kit-night", "dressed")}
    shared = used["kit-even"] & used["kit-night"]
    assert len(shared) >= 4
    assert not shared & used["dressed"]  # a ring with private templates only is its own campaign
    campaign = truth.set_index("ring_id").campaign_id
    assert set(campaign.loc[["kit-even", "kit-night"]]) == {"toolkit"} and set(campaign.loc[["dressed"]]) == {"dressed"}
    power = prompts[(prompts.ring_id == "") & prompts.template_id.isin(shared)]
    assert power.account_id.nunique() >= 5 and set(power.who) == {"heavy"}
    # A ring's own templates: nobody outside it sends them.
    own = used["kit-night"] - used["kit-even"] - set(power.template_id)
    outsiders = prompts[prompts.template_id.isin(own) & (prompts.ring_id != "kit-night")]
    assert len(own) >= 5 and outsiders.empty
    assert traits["kit-even"]["traits"]["shared_bank"] == "toolkit" and not traits["kit-even"]["traits"]["private_templates"]


def test_bins_come_from_popular_or_rare_issuers(pop):
    _, _, f, traits, _ = pop
    pay = f["payments"]
    legit = pay[pay.ring_id == ""]
    holders = legit.groupby("bin").account_id.nunique()
    popular = pay.loc[pay.ring_id == "kit-even", "bin"].unique()
    rare = pay.loc[pay.ring_id == "kit-night", "bin"].unique()
    assert len(rare) == 2 and holders.reindex(rare).fillna(0).max() <= 3
    assert holders.reindex(popular).fillna(0).median() >= 20
    assert traits["kit-night"]["traits"]["bulk_bins"] and not traits["kit-even"]["traits"]["bulk_bins"]
    assert traits["kit-even"]["measured"]["accounts_per_card_max"] == 1


def test_proxies_overlap_real_homes_mix_or_are_absent(pop):
    _, _, f, traits, _ = pop
    ips = f["ips"]
    legit_ips = set(ips.loc[ips.ring_id == "", "ip"])
    residential = ips.loc[ips.ring_id == "kit-even", "ip"].unique()
    assert np.isin(residential, list(legit_ips)).mean() >= 0.7
    bare = ips[ips.ring_id == "bare"]
    shared = bare.groupby("ip").account_id.nunique()
    assert (shared >= 2).sum() <= 3  # at most a VPN exit or two, shared with everyone
    assert all(ip in legit_ips for ip in shared[shared >= 2].index)
    first_octet = ips.loc[ips.ring_id == "mixed", "ip"].str.split(".").str[0].astype(int)
    assert first_octet.isin([24, 47, 67, 68, 69, 71, 73, 75, 76, 77]).any() or first_octet.isin(range(176, 202)).any()
    assert first_octet.isin([5, 23, 37, 45, 46, 62, 64, 66, 104, 107, 185, 188, 193, 194, 195]).any()
    assert traits["bare"]["traits"]["proxies"] == "none" and not traits["bare"]["traits"]["pays"]


def test_waves_put_one_template_in_the_same_hours_across_the_ring(pop):
    _, _, f, traits, _ = pop
    waves, none = traits["kit-even"]["measured"], traits["bare"]["measured"]
    assert 0.2 <= waves["wave_request_share"] <= 0.4 and none["wave_request_share"] == 0
    rows = f["prompts"][f["prompts"].ring_id == "kit-even"]
    cells = rows.assign(hour=rows.t // HOUR).groupby(["template_id", "hour"]).account_id.nunique()
    assert cells.max() >= 0.2 * 400  # a wave: a fifth of the ring on one template in one hour
    assert traits["kit-even"]["traits"]["lockstep_waves"] and not traits["bare"]["traits"]["lockstep_waves"]


def test_operators_work_their_schedule(pop):
    _, _, f, _, _ = pop
    prompts = f["prompts"]
    night = prompts.loc[prompts.ring_id == "kit-night", "t"].to_numpy()
    assert _best_window_share(night, DAY, 8 * HOUR) >= 0.85
    batches = prompts.loc[prompts.ring_id == "bare", "t"].to_numpy()
    assert _best_window_share(batches, DAY, 4 * HOUR) >= 0.85
    uniform = prompts.loc[prompts.ring_id == "mixed", "t"].to_numpy()  # round the clock, a fifth in waves on three days
    assert _best_window_share(uniform, DAY, 4 * HOUR) <= 0.45


# --- legitimate activity and the look-alikes ------------------------------------------------


def test_legitimate_activity_follows_the_week(pop):
    _, _, f, _, _ = pop
    prompts = f["prompts"]
    weekday = ((prompts.t // DAY) + 3) % 7
    weekend_share = (weekday >= 5).groupby(prompts.who).mean()
    assert weekend_share["company"] <= 0.1  # uniform would give 2 days in 7
    assert weekend_share["individual"] >= 0.3


def test_company_seats_are_created_and_worked_in_office_hours_even_when_new(pop):
    """A company onboarded in the window's last days adds its seats at work and works weekdays, as a real
    one does; only an operator dressed as a company signs up on a Sunday night."""
    _, truth, f, _, _ = pop
    accounts = f["accounts"]
    seats = accounts[accounts.who.isin(["company", "eval_company"])]
    offset = seats.country.map(UTC_OFFSET_HOURS).fillna(0).to_numpy() * HOUR
    local = seats.created.to_numpy() + offset.astype(np.int64)
    weekday, hour = ((local // DAY) + 3) % 7, (local % DAY) // HOUR
    assert len(seats) >= 100
    assert (weekday < 5).mean() >= 0.97 and ((hour >= 7) & (hour < 19)).mean() >= 0.9  # the US's four zones: +-2 h
    prompts = f["prompts"]
    new = seats[seats.created >= prompts.t.max() - 10 * DAY]
    late = prompts.merge(new[["account_id", "country"]], on="account_id")
    local = late.t.to_numpy() + (late.country.map(UTC_OFFSET_HOURS).fillna(0).to_numpy() * HOUR).astype(np.int64)
    assert len(late) >= 20
    assert (((local // DAY) + 3) % 7 >= 5).mean() <= 0.15  # uniform: 2 days in 7; a Friday seat has only the weekend left


def test_a_classroom_sends_one_assignment_in_the_same_two_hours_each_week(pop):
    _, truth, f, _, _ = pop
    prompts = f["prompts"]
    classes = truth[truth.kind == "classroom"].groupby("group_id").size()
    assert len(classes) >= 1 and classes.between(100, 200).all()
    for group, size in classes.items():
        rows = prompts[prompts.group_id == group]
        senders = rows.groupby("template_id").account_id.nunique()
        assignment = senders.idxmax()
        assert senders.max() >= 0.6 * size
        sent = rows.loc[rows.template_id == assignment, "t"].to_numpy()
        assert _circular_span(sent, WEEK) <= 2 * HOUR
        assert len(np.unique(sent // WEEK)) >= 3  # week after week
        assert set(prompts.loc[prompts.template_id == assignment, "group_id"]) == {group}
    campus_ip = f["ips"][f["ips"].who == "classroom"].groupby(["group_id", "ip"]).account_id.nunique()
    assert (campus_ip.groupby("group_id").max() >= 0.3 * classes).all()


def test_an_evaluation_company_runs_its_suite_at_night_on_a_corporate_card_behind_a_few_ips(pop):
    _, truth, f, _, _ = pop
    seats = truth[truth.kind == "eval_company"].groupby("group_id").size()
    assert len(seats) >= 1
    for group, size in seats.items():
        cards = f["payments"][f["payments"].group_id == group].groupby("payment_id").account_id.nunique()
        assert cards.max() == size
        domains = f["accounts"].loc[f["accounts"].group_id == group, "domain"].unique()
        assert len(domains) == 1 and domains[0] not in set(FREE_MAIL)
        nat = f["ips"][f["ips"].group_id == group].groupby("ip").account_id.nunique()
        assert (nat >= 0.2 * size).sum() <= 3 and nat.nlargest(3).sum() >= 0.8 * size  # most seats behind a few NAT IPs
        rows = f["prompts"][f["prompts"].group_id == group]
        suite = _senders(f["prompts"][f["prompts"].template_id.isin(rows.template_id)])
        own = [t for t in rows.template_id.unique() if set(f["prompts"].loc[f["prompts"].template_id == t, "group_id"]) == {group}]
        nightly = rows[rows.template_id.isin(own)]
        assert len(own) >= 4 and len(suite) >= len(own)
        assert _circular_span(nightly.t.to_numpy(), DAY) <= 2 * HOUR
        assert nightly.t.floordiv(DAY).nunique() >= 20  # most nights


def test_framework_developers_share_templates_and_nothing_else(pop):
    _, truth, f, _, _ = pop
    devs = truth[truth.kind == "framework_dev"]
    assert len(devs) >= 250 and devs.group_id.nunique() == len(devs)
    rows = f["prompts"][f["prompts"].who == "framework_dev"]
    by_template = rows.groupby("template_id").account_id.nunique()
    assert by_template.max() >= 0.2 * len(devs)
    cards = f["payments"][f["payments"].who == "framework_dev"].groupby("payment_id").account_id.nunique()
    assert cards.max() == 1


def test_a_hackathon_signs_up_within_hours_at_one_venue_and_sends_the_starter_kit(pop):
    _, truth, f, _, _ = pop
    accounts, prompts = f["accounts"], f["prompts"]
    groups = truth[truth.kind == "hackathon"].groupby("group_id").size()
    assert len(groups) >= 1
    for group, size in groups.items():
        created = accounts.loc[accounts.group_id == group, "created"]
        assert created.max() - created.min() <= 6 * HOUR
        venue = f["ips"][f["ips"].group_id == group].groupby("ip").account_id.nunique()
        assert venue.max() >= 0.2 * size and (venue >= 0.2 * size).sum() <= 4
        kit = _senders(prompts[prompts.group_id == group])
        kit = kit[kit >= 0.2 * size].index
        also = prompts[prompts.template_id.isin(kit) & (prompts.who == "individual")]
        assert len(kit) >= 1 and also.account_id.nunique() >= 10  # ordinary users send the starter kit too


def test_a_sign_up_wave_is_a_benign_burst_of_ordinary_individuals(pop):
    _, truth, f, _, _ = pop
    groups = truth[truth.kind == "signup_wave"].groupby("group_id").size()
    assert groups.sum() >= 500
    for group in groups.index:
        created = f["accounts"].loc[f["accounts"].group_id == group, "created"]
        assert created.max() - created.min() <= 72 * HOUR
    cards = f["payments"][f["payments"].who == "signup_wave"].groupby("payment_id").account_id.nunique()
    assert cards.max() == 1


def test_look_alikes_are_legitimate_in_truth(pop):
    _, truth, _, _, _ = pop
    lookalikes = truth[truth.kind.isin(["classroom", "eval_company", "framework_dev", "hackathon", "signup_wave"])]
    assert len(lookalikes) >= 1000 and (lookalikes.ring_id == "").all() and (lookalikes.campaign_id == "").all()


# --- raw prompts: phrasings ---------------------------------------------------------------------


def test_a_phrasing_asks_for_the_same_task_in_other_words():
    families = ["benign"] * 20 + ["cot", "tool_use", "coding", "grading"]
    base = template_texts(families, 3)
    for template in range(20, 24):
        texts = phrasing_texts(families, [template] * 5, [1, 2, 3, 4, 5], 3)
        assert len(set(texts) | {base[template]}) == 6
        assert phrasing_texts(families, [template] * 5, [1, 2, 3, 4, 5], 3) == texts
        task = re.findall(r"\{\w+\}", base[template])
        assert all(re.findall(r"\{\w+\}", t)[: len(task)] or not task for t in texts)


def test_raw_rows_of_a_paraphrasing_ring_take_several_wordings(pop, tmp_path):
    _, _, _, _, root = pop
    raw = generate(root / "behaviours.toml", seed=4, prompts="raw", out=tmp_path / "raw")
    template = generate(root / "behaviours.toml", seed=4)
    rows = template.frame("prompts").merge(template.frame("truth"), on="account_id")
    rows["prompt"] = raw.frame("prompts").prompt.to_numpy()
    prefixes = tuple(p for p, _ in _PREFIXES if p)

    def openings(ring: str, template_id: str) -> int:
        text = rows.loc[(rows.ring_id == ring) & (rows.template_id == template_id), "prompt"]
        stripped = text.map(lambda s: next((s[len(p) :] for p in prefixes if s.startswith(p)), s).lower())
        first = stripped.str.split().str[:3].str.join(" ").value_counts(normalize=True)
        return int((first >= 0.05).sum())

    shared = set(rows.loc[rows.ring_id == "kit-even", "template_id"]) & set(rows.loc[rows.ring_id == "kit-night", "template_id"])
    busiest = rows[rows.template_id.isin(shared) & (rows.ring_id == "kit-night")].template_id.value_counts().index[0]
    assert openings("kit-even", busiest) >= openings("kit-night", busiest) + 2


def test_the_scenario_of_this_file_loads(pop):
    _, _, _, _, root = pop
    scn = load_scenario(root / "behaviours.toml")
    assert scn.uses_campaigns and scn.campaign_of(scn.rings[0]) == "toolkit"
