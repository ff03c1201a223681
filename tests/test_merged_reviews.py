"""pipelines/reconcile/merged_reviews.py one clause at a time: which bills a report title names, and the
links the stored records give evidence for (real report titles from ly-term9's 關連議案)."""

from __future__ import annotations

from pipelines.reconcile.merged_reviews import (
    BillText,
    bill_sponsor,
    clauses,
    find_links,
    own_titles,
    title_key,
)

SECURITY = (
    "內政委員會報告併案審查行政院函請審議「保全業法第十條之一條文修正草案」、委員盧秀燕等34人擬具"
    "「保全業法第十條之一條文修正草案」及委員鄭天財等18人擬具「保全業法第十條之一條文修正草案」案。"
)
SHARED = (
    "本院司法及法制委員會報告併案審查委員陳亭妃等21人、時代力量黨團及委員林俊憲等21人分別擬具"
    "「立法院各委員會組織法第八條及第九條條文修正草案」以及委員黃國書等16人擬具"
    "「立法院各委員會組織法第十二條條文修正草案」案。"
)


def test_each_quoted_title_has_the_sponsors_named_before_it() -> None:
    assert [(sorted(c.sponsors), c.title) for c in clauses(SECURITY)] == [
        (["行政院"], title_key("保全業法第十條之一條文修正草案")),
        (["盧秀燕等34人"], title_key("保全業法第十條之一條文修正草案")),
        (["鄭天財等18人"], title_key("保全業法第十條之一條文修正草案")),
    ]


def test_sponsors_of_one_clause_share_its_title() -> None:
    first, second = clauses(SHARED)
    assert first.sponsors == {"陳亭妃等21人", "時代力量黨團", "林俊憲等21人"}
    assert second.sponsors == {"黃國書等16人"}


def test_a_quote_without_sponsors_shares_the_previous_ones() -> None:
    title = (
        "本院司法及法制委員會報告審查司法院、行政院函請審議「刑事訴訟法部分條文修正草案」及"
        "「刑事訴訟法施行法增訂第七條之九條文草案」案。"
    )
    assert [c.sponsors for c in clauses(title)] == [{"司法院", "行政院"}, {"司法院", "行政院"}]


def test_a_bills_sponsor_across_spellings() -> None:
    assert bill_sponsor("本院委員王榮璋等16人") == "王榮璋等16人"
    assert bill_sponsor("本院委員鄭天財Sra Kacaw等20人") == "鄭天財等20人"
    assert [
        c.sponsors
        for c in clauses("審查委員鄭天財SraKacaw等20人擬具「原住民族基本法第十八條條文修正草案」。")
    ] == [{"鄭天財等20人"}]
    assert bill_sponsor("本院時代力量黨團") == "時代力量黨團"
    assert bill_sponsor("行政院") == "行政院"
    assert bill_sponsor("") is None


def test_own_titles_are_the_quoted_ones() -> None:
    assert own_titles("「會計師法第六條條文修正草案」，請審議案。") == [
        title_key("會計師法第六條條文修正草案")
    ]


REPORT = "1051122070300300"
SECURITY_TITLE = "「保全業法第十條之一條文修正草案」，請審議案。"
LU = BillText("1051003070200100", SECURITY_TITLE, "本院委員盧秀燕等34人", referred_on="2016-10-07")
OTHER_LAW = BillText(
    "1051004070200100",
    "「證券交易稅條例第二條條文修正草案」，請審議案。",
    "本院委員盧秀燕等34人",
    "2016-10-07",
)
LATER = BillText("1061003070200100", SECURITY_TITLE, "本院委員鄭天財等18人", referred_on="2017-10-06")


def test_title_links_need_sponsor_title_and_an_earlier_filing() -> None:
    related = [{"bill_no": "x", "related_bill_no": REPORT, "related_title": SECURITY, "source_url": "u"}]
    links = find_links(related, [LU, OTHER_LAW, LATER])
    assert {(k[1], v.kind) for k, v in links.items()} == {("x", "related"), (LU.bill_no, "title")}
    assert links[(REPORT, LU.bill_no)].report_title == SECURITY
    # OTHER_LAW: the same sponsor and headcount, another law: no link. LATER: filed after the report.


def test_two_bills_fitting_one_clause_are_candidates() -> None:
    twin = BillText("1051003070200200", LU.title, LU.proposer_text, referred_on="2016-10-07")
    related = [{"bill_no": "x", "related_bill_no": REPORT, "related_title": SECURITY, "source_url": "u"}]
    links = find_links(related, [LU, twin])
    assert {links[(REPORT, b.bill_no)].kind for b in (LU, twin)} == {"candidate"}


def test_a_related_link_wins_over_a_title_match() -> None:
    related = [
        {"bill_no": LU.bill_no, "related_bill_no": REPORT, "related_title": SECURITY, "source_url": "u"},
    ]
    twin = BillText("1051003070200200", LU.title, LU.proposer_text)
    links = find_links(related, [LU, twin])
    assert links[(REPORT, LU.bill_no)].kind == "related"
    assert (REPORT, twin.bill_no) not in links  # the clause's bill is already named by 關連議案


RELATED = [{"bill_no": "x", "related_bill_no": REPORT, "related_title": SECURITY, "source_url": "u"}]


def test_a_bill_settled_before_the_report_is_not_in_it() -> None:
    """1050203070102200, 行政院's 勞動基準法 bill, was withdrawn 2016-07-08: later reports on the
    new 行政院 bill of the same title are not about it."""
    withdrawn = BillText(LU.bill_no, LU.title, LU.proposer_text, "2016-10-07", settled_on="2016-11-01")
    assert (REPORT, LU.bill_no) not in find_links(RELATED, [withdrawn])
    later_referral = BillText(LU.bill_no, LU.title, LU.proposer_text, referred_on="2016-12-01")
    assert (REPORT, LU.bill_no) not in find_links(RELATED, [later_referral])


def test_a_match_its_own_record_cannot_confirm_is_a_candidate() -> None:
    undated = BillText(LU.bill_no, LU.title, LU.proposer_text)
    assert find_links(RELATED, [undated])[(REPORT, LU.bill_no)].kind == "candidate"
    elsewhere = BillText(LU.bill_no, LU.title, LU.proposer_text, "2016-10-07", names_reports=True)
    link = find_links(RELATED, [elsewhere])[(REPORT, LU.bill_no)]
    assert link.kind == "candidate" and "another report" in link.evidence
