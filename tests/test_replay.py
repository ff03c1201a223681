"""The ly.govapi.tw v2 replay: derived records keep the samples' quirks, the real server answers.

Runs on the real samples (../shared/samples or $BILLTRACKER_SAMPLES) and a real server on
127.0.0.1, fetched with urllib, because that is what the spiders will see.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from billtracker.replay import ReplayServer, SamplesNotFound, default_samples_dir, load_replay
from billtracker.replay.derive import BILL_DETAIL, ENV_SAMPLES, ReplayData

CIO_BILL = "1051006070201100"
CAPTURED_BILL = "202110213410000"


@pytest.fixture(scope="module")
def samples() -> Path:
    path = default_samples_dir()
    if not path.is_dir():
        pytest.skip(f"samples not available at {path}")
    return path


@pytest.fixture(scope="module")
def data(samples: Path) -> ReplayData:
    return load_replay(samples)


@pytest.fixture(scope="module")
def server(samples: Path) -> Iterator[ReplayServer]:
    with ReplayServer(samples) as srv:
        yield srv


def fetch(base_url: str, path: str, params: dict | None = None) -> tuple[int, bytes, dict]:
    """GET base_url+path(+query); HTTP errors are returned, not raised."""
    url = base_url + path + ("?" + urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def fetch_json(base_url: str, path: str, params: dict | None = None) -> tuple[int, dict]:
    status, body, _ = fetch(base_url, path, params)
    return status, json.loads(body)


# --- derived records --------------------------------------------------------------------------


def test_cio_bill_is_derived_field_by_field(data: ReplayData) -> None:
    bill = data.bills[CIO_BILL]
    assert bill["提案人"] == ["許毓仁"]
    assert len(bill["連署人"]) == 19
    assert "鄭天財Sra．Kacaw" in bill["連署人"]
    assert bill["法律編號"] == ["01010"]
    assert bill["法律編號:str"] == ["行政院組織法"]
    assert bill["提案編號"] == "70委19631"
    assert bill["字號"] == "院總第70號委員提案第19631號"
    assert bill["屆"] == 9 and bill["會期"] == 2
    assert bill["會議代碼"] == "院會-9-2-6"
    assert bill["最新進度日期"] == "2017-03-22"
    assert bill["提案來源"] == "委員提案"
    assert bill["url"] == f"https://ppg.ly.gov.tw/ppg/bills/{CIO_BILL}/details"


def test_cio_bill_flow_keeps_misq_order_and_both_sitting_days(data: ReplayData) -> None:
    flow = data.bills[CIO_BILL]["議案流程"]
    assert [e["狀態"] for e in flow] == ["排入院會(交司法及法制委員會)", "交付審查", "尚未審查"]
    assert flow[0]["日期"] == ["2016-10-14", "2016-10-18"]
    assert flow[0]["會期"] == "09-02-06"
    third = flow[2]
    assert third["院會/委員會"] == "司法及法制委員會"
    assert third["日期"] == ["2017-03-22"]
    assert third["會議代碼"] == ["2017031608"]
    assert third["會期"] == ""


def test_empty_dates_and_codes_are_kept(data: ReplayData) -> None:
    flow = data.bills["1050307070200500"]["議案流程"]
    # The misq entry 審查完畢(逾審查期限) has no date at all and a 會期 missing its sitting.
    assert flow[0]["狀態"] == "審查完畢(逾審查期限)"
    assert flow[0]["日期"] == [] and flow[0]["會期"] == "09-03-"
    assert flow[3]["會議代碼"] == [""] and flow[3]["日期"] == ["2016-12-22"]
    assert flow[4]["院會/委員會"] == ""
    # The incomplete 會期 does not name a sitting, so the meeting code comes from 09-01-04.
    assert data.bills["1050307070200500"]["會議代碼"] == "院會-9-1-4"


def test_missing_flow_key_stays_missing(data: ReplayData) -> None:
    bill = data.bills["1060519070200500"]
    assert "議案流程" not in bill
    assert bill["最新進度日期"] == "" and bill["會議代碼"] == ""
    assert bill["法律編號"] == ["01093"]  # 廢止「國立中正紀念堂管理處組織法」


def test_new_law_gets_no_code(data: ReplayData) -> None:
    bill = data.bills["1051006070201200"]  # 「行政院資訊總處組織法草案」
    assert bill["法律編號"] == [] and bill["法律編號:str"] == []


def test_government_bill_has_no_invented_people_or_number(data: ReplayData) -> None:
    bill = data.bills["1051216070100100"]  # 行政院 「大陸委員會組織法草案」
    assert bill["提案來源"] == "政府提案"
    assert bill["提案人"] == [] and bill["連署人"] == []
    assert bill["提案編號"] == "" and bill["案由"] == ""
    assert bill["法律編號"] == ["01073"]


def test_empty_misq_people_fall_back_to_pdf(data: ReplayData) -> None:
    bill = data.bills["1061218070201500"]  # misq lists are [], the PDF names 16 people
    assert bill["提案單位/提案委員"] == "本院委員張宏陸等16人"
    assert bill["提案人"] == ["張宏陸", "陳賴素美"]
    assert len(bill["連署人"]) == 14 and bill["連署人"][0] == "鄭寶清"


def test_provenance_and_captured_bill(data: ReplayData, samples: Path) -> None:
    assert data.derived_from[CIO_BILL][0].endswith(f"bill-detail_{CIO_BILL}.json")
    assert data.derived_from[CAPTURED_BILL] == [BILL_DETAIL]
    captured = json.loads((samples / BILL_DETAIL).read_text("utf-8"))["data"]
    assert data.bills[CAPTURED_BILL] == captured
    assert len(data.bills) == 28


def test_laws_derived_and_captured(data: ReplayData) -> None:
    assert data.laws["01010"]["名稱"] == "行政院組織法"
    assert data.laws["01021"]["法律狀態"] == "廢止"
    assert data.laws["01010"]["最新版本"] is None
    assert data.laws["04552"]["主管機關"] == ["司法院"]  # captured wins over derived
    assert data.laws["09200015"]["類別"] == "子法"


# --- the server -------------------------------------------------------------------------------


def test_bills_by_law_code(server: ReplayServer) -> None:
    status, body = fetch_json(server.base_url, "/v2/bills", {"法律編號": "01010"})
    assert status == 200
    numbers = {b["議案編號"] for b in body["bills"]}
    assert {CIO_BILL, "1051027070200800", "1061218070201500"} <= numbers
    assert "1051006070201200" not in numbers
    assert all("01010" in b["法律編號"] for b in body["bills"])
    assert all("議案流程" not in b and "連署人" not in b for b in body["bills"])
    assert body["filter"] == {"法律編號": ["01010"]}


def test_paging_is_consistent(server: ReplayServer) -> None:
    _, first = fetch_json(server.base_url, "/v2/bills", {"屆": "9", "limit": 2})
    total = first["total"]
    assert total == 27
    assert first["total_page"] == 14
    seen: list[str] = []
    for page in range(1, first["total_page"] + 1):
        _, body = fetch_json(server.base_url, "/v2/bills", {"屆": 9, "limit": 2, "page": page})
        assert body["total"] == total and body["page"] == page
        seen += [b["議案編號"] for b in body["bills"]]
    assert len(seen) == len(set(seen)) == total


def test_default_sort_is_latest_progress_first(server: ReplayServer) -> None:
    _, body = fetch_json(server.base_url, "/v2/bills", {"limit": 100})
    dates = [b["最新進度日期"] for b in body["bills"]]
    assert dates == sorted(dates, reverse=True)
    assert body["bills"][0]["議案編號"] == CAPTURED_BILL


def test_captured_bodies_are_verbatim(server: ReplayServer, samples: Path) -> None:
    status, body, headers = fetch(server.base_url, f"/v2/bills/{CAPTURED_BILL}")
    assert status == 200 and body == (samples / BILL_DETAIL).read_bytes()
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    params = {"limit": 1, "議案類別": "法律案", "page": 1, "屆": 11}  # any order
    _, body, _ = fetch(server.base_url, "/v2/bills", params)
    assert body == (samples / "ly.govapi.tw_v2/ly-mcp_bills_list.json").read_bytes()


def test_derived_bill_detail_and_404(server: ReplayServer) -> None:
    status, body = fetch_json(server.base_url, f"/v2/bills/{CIO_BILL}")
    assert status == 200 and body["error"] is False and body["id"] == [CIO_BILL]
    assert body["data"]["提案編號"] == "70委19631"
    assert "related_bills" in body["supported_relations"]
    status, body = fetch_json(server.base_url, "/v2/bills/0000")
    assert status == 404 and body == {"error": True, "message": "找不到議案資料"}
    assert fetch(server.base_url, "/elsewhere")[0] == 404


def test_laws_routes(server: ReplayServer) -> None:
    status, body = fetch_json(server.base_url, "/v2/laws/01010")
    assert status == 200 and body["data"]["名稱"] == "行政院組織法"
    _, body = fetch_json(server.base_url, "/v2/laws/01010/bills")
    assert body["total"] == 4 and CIO_BILL in {b["議案編號"] for b in body["bills"]}
    _, body = fetch_json(server.base_url, "/v2/laws", {"法律狀態": "廢止", "limit": 5})
    assert len(body["laws"]) == 5 and all(law["法律狀態"] == "廢止" for law in body["laws"])


def test_robots_allows_everything(server: ReplayServer) -> None:
    status, body, headers = fetch(server.base_url, "/robots.txt")
    assert status == 200 and body == b"User-agent: *\nAllow: /\n"
    assert headers["Content-Type"].startswith("text/plain")


def test_overlay_injects_failures_and_requests_are_recorded(samples: Path) -> None:
    overlay = {
        "/v2/bills?page=2": (429, b"slow down", {"Retry-After": "7"}),
        f"/v2/bills/{CIO_BILL}": (200, b"{not json", {"Content-Type": "application/json"}),
    }
    with ReplayServer(samples, overlay=overlay) as srv:
        status, body, headers = fetch(srv.base_url, "/v2/bills", {"page": 2})
        assert (status, body, headers["Retry-After"]) == (429, b"slow down", "7")
        assert fetch(srv.base_url, f"/v2/bills/{CIO_BILL}")[1] == b"{not json"
        assert fetch(srv.base_url, "/v2/bills", {"page": 1})[0] == 200  # not overlaid
        assert srv.requests == ["/v2/bills?page=2", f"/v2/bills/{CIO_BILL}", "/v2/bills?page=1"]


def test_callable_overlay(samples: Path) -> None:
    def block_page(path_qs: str) -> tuple[int, bytes, dict] | None:
        return (500, b"<html>blocked</html>", {}) if "屆" in path_qs else None

    with ReplayServer(samples, overlay=block_page) as srv:
        assert fetch(srv.base_url, "/v2/bills", {"屆": 9})[:2] == (500, b"<html>blocked</html>")
        assert fetch(srv.base_url, "/v2/bills")[0] == 200


# --- where the samples come from --------------------------------------------------------------


def test_samples_dir_from_env(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SAMPLES, str(samples))
    assert default_samples_dir() == samples
    assert CIO_BILL in load_replay().bills


def test_missing_samples_dir_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-samples"
    with pytest.raises(SamplesNotFound, match=str(missing)):
        load_replay(missing)
    monkeypatch.setenv(ENV_SAMPLES, str(missing))
    with pytest.raises(FileNotFoundError, match=str(missing)):
        ReplayServer()


def test_incomplete_samples_dir_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SamplesNotFound, match="kong0107-lis.ly_catalogue_laws.csv"):
        load_replay(tmp_path)


# --- LYAPI's list rules (replay/lyapi.py, from SearchAction.php and skill.md) -------------------


def raw_json(base_url: str, path_qs: str) -> tuple[int, dict]:
    """GET a raw query string (range tokens are not key=value pairs urlencode could write)."""
    from urllib.parse import quote

    url = base_url + quote(path_qs, safe="/?&=:,<>")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_past_the_result_window_is_413_as_lyapi_answers(server: ReplayServer) -> None:
    assert raw_json(server.base_url, "/v2/bills?limit=100&page=100")[0] == 200  # 9,900 + 100
    status, body = raw_json(server.base_url, "/v2/bills?limit=100&page=101")
    assert (status, body["message"]) == (413, "錯誤，請縮小查詢範圍或調整分頁參數後重試")
    assert raw_json(server.base_url, "/v2/bills?limit=300&page=34")[0] == 413  # 9,900 + 300


def test_sort_follows_the_code_not_the_documented_minus_prefix(server: ReplayServer) -> None:
    _, default = raw_json(server.base_url, "/v2/bills?屆=9&limit=100")
    _, ascending = raw_json(server.base_url, "/v2/bills?屆=9&limit=100&sort=最新進度日期<")
    newest = [b["最新進度日期"] for b in default["bills"] if b.get("最新進度日期")]
    oldest = [b["最新進度日期"] for b in ascending["bills"] if b.get("最新進度日期")]
    assert newest == sorted(newest, reverse=True) and oldest == sorted(oldest) and newest != oldest
    assert default["sort"] == ["最新進度日期"]
    status, body = raw_json(server.base_url, "/v2/bills?sort=-最新進度日期")  # skill.md's form
    assert status == 500 and "-最新進度日期" in body["message"]


def test_range_tokens_filter_and_unknown_params_are_ignored(server: ReplayServer, data: ReplayData) -> None:
    _, ranged = raw_json(server.base_url, "/v2/bills?提案日期:2016-10-01,2016-10-31&limit=100")
    days = {b["議案編號"]: data.bills[b["議案編號"]].get("提案日期") for b in ranged["bills"]}
    assert days and all("2016-10-01" <= d <= "2016-10-31" for d in days.values())
    assert CIO_BILL in days
    _, everything = raw_json(server.base_url, "/v2/bills?limit=1")
    _, ignored = raw_json(server.base_url, "/v2/bills?最新進度日期:2030-01-01,&limit=1")  # not a filter
    assert ignored["total"] == everything["total"]
    status, _ = raw_json(server.base_url, "/v2/bills?bare")
    assert status == 500  # neither name=value nor name:from,to


def test_agg_buckets_count_a_filter_field(server: ReplayServer, data: ReplayData) -> None:
    _, body = raw_json(server.base_url, "/v2/bills?agg=屆&limit=1")
    (agg,) = body["aggs"]
    counts = {b["屆"]: b["count"] for b in agg["buckets"]}
    assert counts == dict(Counter(b["屆"] for b in data.bills.values()))
    assert sum(counts.values()) == body["total"]


def test_default_list_fields_and_output_fields_as_the_code_builds_them(server: ReplayServer) -> None:
    _, plain = raw_json(server.base_url, "/v2/bills")
    assert plain["limit"] == 100  # defaultLimit()
    entry = plain["bills"][0]
    assert "議案流程" not in entry and "提案日期" not in entry and "url" in entry
    _, asked = raw_json(server.base_url, "/v2/bills?屆=9&output_fields=議案流程&limit=1")
    assert asked["output_fields"] == ["議案流程", "屆"]  # the filter field is added, and echoed
    assert set(asked["bills"][0]) == {"議案流程", "屆", "url"}
