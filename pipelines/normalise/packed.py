"""Raw records packed for storage: deflate with a preset dictionary of the records' own words.

Why: `bill_versions` keeps every version of every record as published, the largest table after
the search index (4.9 KB of a 29 KB ly-term9 bill after VACUUM). A record is ~4 KB of JSON whose
keys and stock phrases repeat in every bill; deflate alone halves it, and a dictionary of those
keys and phrases (written here, not taken from any record) takes it to under a third.

Format: one byte naming the dictionary, then raw deflate. DICTIONARIES only ever grows: a packed
row names the dictionary it was packed with, so changing one would make stored rows unreadable.
"""

from __future__ import annotations

import zlib

# The LYAPI bill record's shape (its keys in to_sorted_json's order, nested lists and objects) and
# the words every 案由, 議案流程 and 對照表 repeats. Later parts of a deflate dictionary are the
# cheapest to refer to, so the record's skeleton comes last.
_DICTIONARY_1 = (
    "本院委員等 人，鑑於爰擬具「」條文修正草案，是否有當？敬請公決。行政院函請審議中華民國組織法施行細則"
    "部分條文修正草案增訂第 條院會委員會程序委員會交付審查審查完畢排入院會一讀二讀三讀三讀公布經院會決議"
    "撤回退回協商併案審查委員提案政府提案法律案"
    '{"日期": ["2017-"], "會期": "09-0", "會議代碼": ["09-0"], "狀態": "交付審查", "院會/委員會": "院會"}'
    '"名稱": "關係文書(PDF)", "網址": "http://lci.ly.gov.tw/LyLCEW/agenda1/02/pdf/09/0"'
    '"law_content_id": "", "修正": "第", "現行": "第", "說明": "一、", "title": "", "立法種類": "修正條文"'
    '{"url": "https://ppg.ly.gov.tw/ppg/bills/107/details", "字號": "院總第號委員提案第號", '
    '"對照表": [{"law_id": "0", "law_name": "", "rows": [], "屆": 9, "提案人": ["", ""], '
    '"提案來源": "委員提案", "提案單位/提案委員": "本院委員", "提案日期": "2017-", "提案編號": "", '
    '"最新進度日期": "2017-", "會期": "9-3", "會議代碼": "院會-9-3-", "案由": "本院委員", '
    '"法律編號": ["0"], "法律編號:str": ["0"], "相關附件": [{"名稱": "", "網址": ""}], "議案名稱": "", '
    '"議案流程": [{"日期": ["2017-"], "會期": "09-0", "會議代碼": ["09-0"], "狀態": "", '
    '"院會/委員會": "院會"}], "議案狀態": "交付審查", "議案編號": "1060", "議案類別": "法律案", '
    '"資料抓取時間": "2026-05-12T21:18:17+08:00", "連署人": ["", ""], '
    '"關連議案": [{"議案編號": "", "議案名稱": ""}]}'
).encode()
DICTIONARIES = {1: _DICTIONARY_1}
CURRENT = 1
# Raw deflate (the format byte says what a zlib header would). Level 6 and a 16 KB window: level
# 9 and 32 KB gain under 1% on ly-term9 for half as much time again in the store (~0.1 ms a record).
_LEVEL, _PACK_WBITS, _UNPACK_WBITS = 6, -14, -15


def pack_record(text: str | None) -> bytes | None:
    """The record's text, packed with the current dictionary (None stays None)."""
    if text is None:
        return None
    packer = zlib.compressobj(
        _LEVEL, zlib.DEFLATED, _PACK_WBITS, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARIES[CURRENT]
    )
    return bytes([CURRENT]) + packer.compress(text.encode()) + packer.flush()


class UnknownPacking(ValueError):
    """A packed value names a dictionary this code does not have (written by newer code)."""


def unpack_record(value: bytes | str | None) -> str | None:
    """The record's text again; text (a row written before packing) is returned as it is."""
    if value is None or isinstance(value, str):
        return value
    dictionary = DICTIONARIES.get(value[0])
    if dictionary is None:
        known = sorted(DICTIONARIES)
        raise UnknownPacking(f"a packed record names dictionary {value[0]}; this code knows {known}")
    unpacker = zlib.decompressobj(_UNPACK_WBITS, dictionary)
    return (unpacker.decompress(value[1:]) + unpacker.flush()).decode()
