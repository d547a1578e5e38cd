# ruff: noqa: E501, DTZ001 - bank rows verbatim; XLSX cells hold naive local times like banks
"""Writes the Vietnamese statement fixtures in golden/vn/ (names and accounts invented).

Run once after changing a fixture: `.venv/bin/python tests/core/statements/golden/make_vn_fixtures.py`.
Layouts follow ARCHITECTURE.md ("Vietnamese bank facts"); the files are committed, so this
script only documents how they were made.
"""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "vn"

VCB = """\
NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM,,,,,
SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT,,,,,
Số tài khoản/Account number: 0011001932418,,,,,
Tên tài khoản/Account name: UY BAN MAT TRAN TO QUOC VIET NAM,,,,,
Loại tiền/Currency: VND,,,,,
Từ ngày/From: 10/09/2024 Đến ngày/To: 12/09/2024,,,,,
,,,,,
STT/No.,"Ngày GD/TNX Date
Số CT/Doc No",Số tiền ghi nợ/Debit,Số tiền ghi có/Credit,Số dư/Balance,Nội dung chi tiết/Transactions in Detail
,Số dư đầu kỳ/Opening balance,,,"1,000,000",
1,"10/09/2024
5213.47231",,"200,000","1,200,000",MBVCB.6953837514.LE THI HOA chuyen tien.CT tu 0071000812345 LE THI HOA toi 0011001932418 UY BAN MAT TRAN TO QUOC VIET NAM
2,"10/09/2024
5213.47231",,"500,000","1,700,000","IBFT Ung ho dong bao bi lu lut, bao Yagi"
3,"10/09/2024
5213.47231",,"500,000","2,200,000","IBFT Ung ho dong bao bi lu lut, bao Yagi"
4,"11/09/2024
5091.28514",,"50,000","2,250,000",CT nhanh 247 den: TRAN VAN BINH chuyen tien
5,"11/09/2024
5091.28514",,"1,000","2,251,000",
6,"11/09/2024
5091.28514","5,500",,"2,245,500",Phi dich vu SMS Banking thang 08/2024
7,"12/09/2024
5213.47890",,"10,000,000","12,245,500",Chuyen tien den tu NAPAS Noi dung: CONG TY TNHH AN PHAT ung ho lu lut FT24256341614260
8,"12/09/2024
5213.47891","200,000",,"12,045,500",HOAN TRA GD FT24256341600001 do sai thong tin nguoi nhan
,Tổng/Total,"205,500","11,251,000",,
,Số dư cuối kỳ/Closing balance,,,"12,045,500",
"""

VIETINBANK = """\
NGÂN HÀNG TMCP CÔNG THƯƠNG VIỆT NAM;;;;;;
LỊCH SỬ GIAO DỊCH;;;;;;
Số tài khoản: 113000123456;;;;;;
Loại tiền: VND;;;;;;
;;;;;;
STT;Ngày giao dịch;Số giao dịch;Ghi nợ;Ghi có;Số dư;Nội dung
;Dư đầu;;;;2.000.000;
1;09/09/2024 23:55:31;FT24254001;;100.000;2.100.000;"0381002345 NGUYEN VAN AN Chuyen tien; thoi gian GD:09092024 23:55:31"
2;10/09/2024 08:01:02;FT24254002;;1.000.000;3.100.000;123456.100924.080102.Ung ho Cu Ba
3;10/09/2024 08:01:02;FT24254003;;1.000.000;4.100.000;123457.100924.080102.Ung ho Cu Ba
4;10/09/2024 09:15;FT24254004;20.000;;4.080.000;Phi chuyen tien
;Dư cuối;;;;4.080.000;
"""

MBBANK = """\
Ngân hàng TMCP Quân đội (MB),,,,,
Sao kê tài khoản,,,,,
Số tài khoản: 0801234567890,,,,,
,,,,,
Số tham chiếu,Ngày giao dịch,Số tiền ghi nợ,Số tiền ghi có,Số dư,Nội dung
FT25226900000101,14/08/2025 10:02:11,,"200,000","200,000",MBVCB.10554412345.PHAM THI LAN chuyen tien ung ho CUBA
FT25226900000102,14/08/2025 10:02:12,,"1,000,000","1,200,000",Ủng hộ nhân dân Cuba
,,,,,"- Người gửi: Đỗ Minh Đức, TP. Hồ Chí Minh"
FT25226900000103,14/08/2025 10:02:13,,"100,000","1,300,000",UNG HO CUBA 0912345678
FT25226900000104,14/08/2025 10:02:14,,"10,000","1,310,000",
FT25226900000105,15/08/2025 00:00:01,,"50,000,000","51,310,000","CONG TY CP XAY DUNG HOA BINH ung ho
nhan dan Cu Ba anh em"
"""

BIDV = """\
NGÂN HÀNG TMCP ĐẦU TƯ VÀ PHÁT TRIỂN VIỆT NAM
SAO KÊ TÀI KHOẢN
Tài khoản: 12010001234567 - Loại tiền: VND
Ngày;Số CT;Phát sinh nợ;Phát sinh có;Số dư;Diễn giải
;;;;3.000.000;Số dư đầu kỳ
20/09/2024;0001;;300.000;3.300.000;REM Tfr Ac: 12010009876543 HOANG THI MAI ung ho lu lut
20/09/2024;0002;;300.000;3.600.000;REM Tfr Ac: 12010009876543 HOANG THI MAI ung ho lu lut
21/09/2024;0003;150.000;;3.450.000;Chi ho tro ba con vung lu
;Cộng phát sinh;150.000;600.000;;
;;;;3.450.000;Số dư cuối kỳ
"""

TECHCOMBANK = """\
TECHCOMBANK
Account statement
Account No.: 19036512345017
Currency: VND
Transaction Date,Reference,Amount,Balance,Description
01/10/2024 07:30,FT24275100001,"+500,000","500,000",IBFT NGO THI THU ung ho mien Bac
01/10/2024 07:45,FT24275100002,"-22,000","478,000",Phi quan ly tai khoan
02/10/2024 12:00,FT24275100003,"+1","478,001",test
Closing balance,,,"478,001",
"""

AGRIBANK_UTF16 = (
    "NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN\t\t\t\t\n"
    "Số tài khoản: 1500201012345\t\t\t\t\n"
    "Ngày giao dịch\tSố tham chiếu\tGhi nợ\tGhi có\tNội dung\n"
    "05/10/2024\tAG001\t\t250.000\tỦng hộ đồng bào lũ lụt Lào Cai\n"
    "05/10/2024\tAG002\t\t1.250.000\tung ho lu lut Yen Bai\n"
)

PROFILE = """\
# A layout the readers do not know: Quỹ tín dụng export with its own column names.
[statement]
account = "7001000123"
currency = "VND"
bin = "970422"
header_row = 2
thousands_separator = "."
date_format = "%Y-%m-%d %H:%M"
unique_ref = true

[columns]
date = "Thời điểm"
ref = "Mã bút toán"
debit = "Rút ra"
credit = "Gửi vào"
memo = "Ghi chú"
counterparty_name = "Người nộp"
"""

PROFILE_CSV = """\
Quỹ tín dụng nhân dân Phường 1 - xuất dữ liệu
Thời điểm,Mã bút toán,Rút ra,Gửi vào,Ghi chú,Người nộp
2024-09-15 09:30,BT0001,,"1.500.000",ung ho lu lut,VU THI HANH
2024-09-15 10:00,BT0002,"300.000",,rut tien mat,
"""


def make_xlsx(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sao ke"
    sheet.append(["NGÂN HÀNG TMCP SÀI GÒN THƯƠNG TÍN"])
    sheet.append(["SAO KÊ TÀI KHOẢN"])
    sheet.append(["Số tài khoản:", "060123456789"])
    sheet.append(["Loại tiền:", "VND"])
    sheet.append([])
    sheet.append(["STT", "Ngày giao dịch", "Số chứng từ", "Ghi nợ", "Ghi có", "Số dư", "Mô tả"])
    sheet.append([None, "Số dư đầu kỳ", None, None, None, 0, None])
    sheet.append(
        [1, datetime(2024, 9, 13, 14, 5, 0), "ST001", None, 300000, 300000,
         "Ủng hộ đồng bào\nbị lũ lụt miền Bắc"]
    )  # fmt: skip
    sheet.append([None, None, None, None, None, None, "(chuyển từ VU DUC THANG)"])
    sheet.append(
        [2, "13/09/2024 14:06:00", "ST002", None, "1.000.000", 1300000, "IBFT ung ho lu lut"]
    )
    sheet.append([3, datetime(2024, 9, 14, 9, 0, 0), "ST003", 15000, None, 1285000, "Phi SMS"])
    sheet.append([None, "Tổng cộng", None, 15000, 1300000, None, None])
    sheet.append([None, "Số dư cuối kỳ", None, None, None, 1285000, None])
    book.save(path)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / "vietcombank_bilingual.csv").write_text(VCB, encoding="utf-8")
    (HERE / "vietinbank_semicolon.csv").write_text(VIETINBANK, encoding="utf-8")
    (HERE / "mbbank_continuation.csv").write_text(MBBANK, encoding="utf-8")
    (HERE / "bidv_phat_sinh.csv").write_bytes(codecs.BOM_UTF8 + BIDV.encode())
    (HERE / "techcombank_signed.csv").write_text(TECHCOMBANK, encoding="utf-8")
    (HERE / "agribank_unicode.txt").write_bytes(
        codecs.BOM_UTF16_LE + AGRIBANK_UTF16.encode("utf-16-le")
    )
    (HERE / "quy_tin_dung.csv").write_text(PROFILE_CSV, encoding="utf-8")
    (HERE / "quy_tin_dung.profile.toml").write_text(PROFILE, encoding="utf-8")
    make_xlsx(HERE / "sacombank_title_rows.xlsx")


if __name__ == "__main__":
    main()
