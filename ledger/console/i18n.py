"""The console's words in Japanese (the default) and English.

Each key maps to (Japanese, English). Figures and their labels inside reports come from the
report code itself (sync.tally, ledger.reports, ledger.liability), never from here.
"""

from __future__ import annotations

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

WORDS: dict[str, tuple[str, str]] = {
    "app": ("町の台帳 管理画面", "Town ledger console"),
    "skip": ("本文へ移動", "Skip to content"),
    "nav": ("メニュー", "Menu"),
    "overview": ("概要", "Overview"),
    "shops": ("店舗と端末", "Shops and terminals"),
    "wallets": ("ウォレットとカード", "Wallets and cards"),
    "campaigns": ("キャンペーン", "Campaigns"),
    "reports": ("帳票", "Reports"),
    "flags": ("要確認", "Flags"),
    "audit": ("操作記録", "Audit trail"),
    "sign_in": ("ログイン", "Sign in"),
    "sign_out": ("ログアウト", "Sign out"),
    "user_name": ("ユーザー名", "User name"),
    "password": ("パスワード", "Password"),
    "signed_in_as": ("ログイン中", "Signed in as"),
    "role": ("権限", "Role"),
    "role_viewer": ("閲覧者", "viewer"),
    "role_operator": ("担当者", "operator"),
    "role_admin": ("管理者", "admin"),
    "language": ("English", "日本語"),
    "refused": ("ユーザー名またはパスワードが違います。", "Wrong user name or password."),
    "locked": ("失敗が続いたためロックされています。しばらくしてから再度お試しいただくか、"
               "管理者に連絡してください。",
               "This account is locked after too many failed sign-ins; try again later or "
               "ask an admin."),
    "forbidden": ("この操作の権限がありません。", "Your role may not do this."),
    "csrf": ("フォームの有効期限が切れました。ページを開き直してください。",
             "The form has expired: open the page again."),
    "not_found": ("見つかりません。", "Not found."),
    "error": ("エラー", "Error"),
    "back": ("戻る", "Back"),
    "today": ("本日", "Today"),
    "this_month": ("今月", "This month"),
    "volume_by_pocket": ("ポケット別 利用額", "Volume by pocket"),
    "pocket": ("ポケット", "Pocket"),
    "yen": ("円", "yen"),
    "terminals": ("端末", "Terminals"),
    "terminal": ("端末", "Terminal"),
    "shop": ("店舗", "Shop"),
    "status": ("状態", "Status"),
    "last_contact": ("最終受信", "Last contact"),
    "behind": ("遅れ", "Behind"),
    "is_behind": ("遅れあり", "behind"),
    "up_to_date": ("正常", "up to date"),
    "never": ("なし", "never"),
    "open_flags": ("未対応の要確認", "Open flags"),
    "kind": ("種類", "Kind"),
    "count": ("件数", "Count"),
    "pools": ("キャンペーンの在庫", "Campaign pools"),
    "leases": ("貸出中", "Leases"),
    "campaign": ("キャンペーン", "Campaign"),
    "pool": ("在庫", "Pool"),
    "total": ("総数", "Total"),
    "granted": ("払出済", "Granted"),
    "used": ("使用済", "Used"),
    "open_leases": ("貸出中の数", "Units on open leases"),
    "liability": ("未使用残高", "Liability"),
    "outstanding": ("未使用残高 合計", "Outstanding"),
    "search": ("検索", "Search"),
    "search_shops": ("店舗ID・店名で検索", "Search by shop id or name"),
    "merchant_id": ("加盟店ID", "Shop id"),
    "name": ("名前", "Name"),
    "class": ("区分", "Class"),
    "plan": ("手数料プラン", "Fee plan"),
    "staff": ("スタッフ", "Staff"),
    "turnover": ("売上", "Turnover"),
    "daily_sheets": ("日計表", "Daily sheets"),
    "settlement": ("精算", "Settlement"),
    "create_terminal": ("端末を追加", "Add a terminal"),
    "revoke": ("停止", "Revoke"),
    "revoke_confirm": ("この端末を停止します。", "This stops the terminal."),
    "enroll_code": ("登録コード (1回限り)", "Enrollment code (once only)"),
    "enroll_code_note": ("このコードは今だけ表示されます。端末の登録画面で入力するか、"
                         "QRコードを読み取ってください。",
                         "This code is shown now only: type it at the terminal's enrollment "
                         "screen or scan the QR code."),
    "expires_in": ("有効期限 (秒)", "Expires in (s)"),
    "terminal_revoked": ("端末を停止しました。", "The terminal is revoked."),
    "look_up": ("照会", "Look up"),
    "card_number": ("カード番号", "Card number"),
    "wallet_id": ("ウォレットID", "Wallet id"),
    "wallet": ("ウォレット", "Wallet"),
    "age_band": ("年代", "Age band"),
    "area": ("地区", "Area"),
    "holds": ("残高", "Holds"),
    "funder": ("負担者", "Funder"),
    "expires": ("有効期限", "Expires"),
    "cards": ("カード", "Cards"),
    "card": ("カード", "Card"),
    "pin": ("暗証番号", "PIN"),
    "pin_set": ("設定あり", "set"),
    "pin_none": ("なし", "none"),
    "block": ("利用停止", "Block"),
    "block_replace": ("利用停止して新しいカードに残高を引き継ぐ",
                      "Block and move the balance to a new card"),
    "new_card_number": ("新しいカード番号 (空欄で自動採番)",
                        "New card number (empty: a new one)"),
    "blocked": ("カードを停止しました。", "The card is blocked."),
    "new_card_is": ("新しいカード", "The new card"),
    "set_pin": ("暗証番号を設定", "Set the PIN"),
    "clear_pin": ("暗証番号を解除", "Clear the PIN"),
    "new_pin": ("新しい暗証番号", "New PIN"),
    "pin_changed": ("暗証番号を変更しました。", "The PIN was changed."),
    "history": ("履歴", "History"),
    "at": ("日時", "When"),
    "type": ("種別", "Type"),
    "amount": ("金額", "Amount"),
    "no_rows": ("該当なし", "Nothing here"),
    "rules": ("ルール", "Rules"),
    "usage": ("利用状況", "Usage"),
    "wallets_used": ("利用ウォレット数", "Wallets that used it"),
    "create_campaign": ("キャンペーンを登録 (JSONファイル)", "Create a campaign (JSON file)"),
    "rules_file": ("ルールのJSONファイル", "Rules, a JSON file"),
    "upload": ("登録", "Upload"),
    "campaign_created": ("キャンペーンを登録しました。", "The campaign is stored."),
    "period": ("期間", "Period"),
    "what_to_do": ("対応", "What to do"),
    "detail": ("内容", "Detail"),
    "resolve": ("対応済みにする", "Resolve"),
    "comment": ("コメント", "Comment"),
    "resolved": ("対応済み", "Resolved"),
    "open": ("未対応", "Open"),
    "all": ("すべて", "All"),
    "state": ("状態", "State"),
    "filter": ("絞り込み", "Filter"),
    "flag_resolved": ("対応済みにしました。", "The flag is resolved."),
    "who": ("担当者", "Who"),
    "action": ("操作", "Action"),
    "target": ("対象", "Target"),
    "tally": ("日計表", "Daily tally"),
    "reconcile": ("照合", "Reconcile"),
    "kpi": ("KPI", "KPIs"),
    "date": ("日付", "Date"),
    "month": ("月", "Month"),
    "date_from": ("開始日", "From"),
    "date_to": ("終了日", "To"),
    "on_day": ("基準日", "On"),
    "whole_town": ("町全体", "Whole town"),
    "show": ("表示", "Show"),
    "download": ("ダウンロード", "Download"),
    "no_records": ("この日の記録はありません。", "No records on this day."),
    "no_differences": ("差異はありません。", "No differences."),
    "adds_up": ("計算は一致しています。", "The figures add up."),
    "does_not_add_up": ("計算が一致しません", "The figures do not add up"),
    "users_by_kind": ("登録者数 (アプリ/カード)", "Users, app or card"),
    "users_by_age": ("登録者数 (年代)", "Users by age band"),
    "users_by_area": ("登録者数 (地区)", "Users by area"),
    "volume_by_month": ("月別 決済額 (円)", "Volume by month (yen)"),
    "share_by_credential": ("支払い手段の割合 (%)", "App vs card (% of yen)"),
    "repeat_rate": ("店舗別 リピート率 (%)", "Repeat rate by shop (%)"),
    "customers": ("顧客数", "Customers"),
    "payments": ("決済数", "Payments"),
    "average_spend": ("平均単価", "Average spend"),
    "invalid_input": ("入力が正しくありません", "The input is not valid"),
    "viewer_note": ("閲覧権限のため変更はできません。", "Your role (viewer) reads only."),
}


def word(key: str, lang: str) -> str:
    pair = WORDS[key]
    return pair[0] if lang == "ja" else pair[1]

# The audit log's actions, as people read them.
ACTIONS: dict[str, tuple[str, str]] = {
    "sign_in": ("ログイン", "signed in"),
    "sign_out": ("ログアウト", "signed out"),
    "sign_in_failed": ("ログイン失敗", "failed sign-in"),
    "locked_out": ("ロック", "locked out"),
    "create_office_user": ("ユーザー作成", "office user created"),
    "update_office_user": ("ユーザー更新", "office user updated"),
    "create_terminal": ("端末追加", "terminal created"),
    "revoke_terminal": ("端末停止", "terminal revoked"),
    "block_card": ("カード停止", "card blocked"),
    "set_card_pin": ("暗証番号設定", "PIN set"),
    "clear_card_pin": ("暗証番号解除", "PIN cleared"),
    "resolve_flag": ("要確認の対応", "flag resolved"),
    "create_campaign": ("キャンペーン登録", "campaign created"),
}

# What to do about each kind of flag, in Japanese: ledger.kpi.ACTIONS says it in English
# (its CLI report); a kind without a line here is shown with kpi's English text.
FLAG_ACTIONS_JA: dict[str, str] = {
    "overdraft": "利用者に連絡して不足分の精算を依頼してください。精算までウォレットは利用できま"
                 "せん。",
    "fork": "端末を点検してください (バックアップから戻した、ディスクを複製した等)。端末は停止中"
            "です。",
    "bad_signature": "記録が送信中または端末上で改ざんされました。点検してください。",
    "unknown_lot": "台帳にない残高が使われました。端末の同期状態を確認してください。",
    "takeback_short": "取消した売上の還元分が既に使われていたため、返金額から差し引き、負担者に戻"
                      "しました。"
                      "未精算額 (debt) が残る場合は利用者の負担です (精算までウォレットは利用不可"
                      ")。",
    "class_violation": "中小店専用の商品券が大型店で使われました。店舗に注意を促してください。",
    "expired_lot": "期限切れの残高が使われました。端末の時計を確認してください。",
    "over_refund": "支払額を超える返金です。店舗にレシートを確認してください。",
    "over_cap": "上限を超えたウォレットです。チャージ窓口の入金を確認してください。",
    "velocity": "1時間に多数の支払いがありました。利用者に連絡し、紛失なら利用停止してください。",
    "two_shops": "数分の間に別の店で同じウォレットが使われました。カードの複製の可能性: 利用者に"
                 "連絡してください。",
    "near_cap": "上限直前のチャージが繰り返されています。資金洗浄の可能性: 確認してください。",
    "wrong_pocket": "残高が別の種類として使われました。端末の同期状態を確認してください。",
    "campaign_quantity": "貸出を超えてキャンペーンが使われました。在庫の超過の可能性: 端末の貸出"
                         "を確認してください。",
    "campaign_wallet_limit": "ルールの回数を超えてキャンペーンが使われました。端末の同期の古さを"
                             "確認してください。",
    "campaign_out_of_period": "期間外にキャンペーンが使われました。端末の時計を確認してください。",
    "campaign_stamped_here_already": "同じ店のスタンプが1枚のカードに2回押されました。店舗に注意"
                                     "を促してください。",
    "campaign_prize_sold_out": "景品がなくなった後にスタンプカードが完成しました。利用者に景品終"
                               "了を伝えてください。",
    "campaign_wrong_funder": "ルールと異なる負担者の記録です。ルールの負担者に請求しました。端末"
                             "を点検してください。",
    "gift_code_reused": "同じギフトコードが2回使われました (オフライン端末)。両店舗に確認してくだ"
                        "さい。"
                        "2回目の支払いは保留され、店舗には支払われません。",
    "app_token_reused": "同じアプリのコードで2回支払われました (スクリーンショット?)。利用者に連"
                        "絡し、"
                        "複製されていればアプリを停止してください。",
    "unknown_gift_code": "台帳が発行していないギフトコードです。偽造の可能性: 記録を点検してくだ"
                         "さい。",
    "clock_backwards": "端末の記録時刻が戻りました (時計の変更、古いまたは改変されたソフト)。"
                       "端末の時計とソフトを確認し、この売上の時刻に注意してください。",
    "grant_over_cap": "1回の上限を超える手動ポイント付与です。店舗に付与した人を確認してください。",
    "grant_day_cap": "1日の上限を超える手動ポイント付与です。店舗に理由を確認してください。",
    "approver_not_manager": "承認者が店長ではない記録です。端末を点検してください。",
    "approval_missing": "店長の承認が必要な操作に承認者がありません。店舗に確認してください。",
    "staff_id_taken": "他店のスタッフと同じIDでスタッフが作られました (保存せず)。端末を点検して"
                      "ください。",
    "unknown_staff": "台帳にないスタッフの記録です。端末を点検してください。",
    "staff_not_by_manager": "店長以外がスタッフを作成しました (保存せず)。店舗に確認してください。",
    "clock_outside_window": "受信より後、または端末登録より前の日時の記録です。端末の時計を合わせ、"
                            "売上日に注意してください。",
}


def action_word(action: str, lang: str) -> str:
    pair = ACTIONS.get(action)
    return action if pair is None else pair[0] if lang == "ja" else pair[1]
