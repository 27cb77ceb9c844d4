<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP" sourcelanguage="en">
<context>
    <name>CustomerDisplay</name>
    <message>
        <source>Welcome</source>
        <translation>いらっしゃいませ</translation>
    </message>
    <message>
        <source>Amount to pay</source>
        <translation>お支払い金額</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>完了しました</translation>
    </message>
    <message>
        <source>Not accepted</source>
        <translation>ご利用いただけません</translation>
    </message>
    <message>
        <source>Thank you very much</source>
        <translation>ありがとうございました</translation>
    </message>
    <message>
        <source>Remaining balance</source>
        <translation>残高</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合計</translation>
    </message>
    <message>
        <source>valid until {0}</source>
        <translation>有効期限 {0}</translation>
    </message>
    <message>
        <source>usable from {0}</source>
        <translation>{0} から利用可</translation>
    </message>
    <message>
        <source>Rides left</source>
        <translation>残り回数</translation>
    </message>
    <message>
        <source>{0}: {1} of {2} stamps</source>
        <translation>{0}: スタンプ {1}/{2}</translation>
    </message>
    <message>
        <source>Coupons and campaigns</source>
        <translation>ご利用のクーポン・キャンペーン</translation>
    </message>
    <message>
        <source>Customer display</source>
        <translation>お客様表示</translation>
    </message>
    <message>
        <source>Paid {0}</source>
        <translation>お支払い {0}</translation>
    </message>
    <message>
        <source>Topped up {0}</source>
        <translation>チャージ {0}</translation>
    </message>
    <message>
        <source>Refunded {0}</source>
        <translation>返金 {0}</translation>
    </message>
    <message>
        <source>Cancelled {0}</source>
        <translation>取消 {0}</translation>
    </message>
    <message>
        <source>{0} points added</source>
        <translation>{0} ポイント付与</translation>
    </message>
    <message>
        <source>Ride recorded</source>
        <translation>ご乗車を記録しました</translation>
    </message>
    <message>
        <source>Exchanged: {0} added</source>
        <translation>交換しました: {0} 入金</translation>
    </message>
    <message>
        <source>Balance</source>
        <translation>チャージ残高</translation>
    </message>
    <message>
        <source>Vouchers (all shops)</source>
        <translation>プレミアム商品券 (全店共通)</translation>
    </message>
    <message>
        <source>Vouchers (small shops)</source>
        <translation>プレミアム商品券 (中小店専用)</translation>
    </message>
    <message>
        <source>Points</source>
        <translation>ポイント</translation>
    </message>
    <message>
        <source>Please ask the staff.</source>
        <translation>係員にお尋ねください。</translation>
    </message>
    <message>
        <source>Not enough balance.</source>
        <translation>残高が不足しています。</translation>
    </message>
    <message>
        <source>Not enough points.</source>
        <translation>ポイントが不足しています。</translation>
    </message>
    <message>
        <source>No rides left.</source>
        <translation>残り回数がありません。</translation>
    </message>
    <message>
        <source>This card cannot be used. Please ask at the booth.</source>
        <translation>このカードはご利用いただけません。窓口にお尋ねください。</translation>
    </message>
    <message>
        <source>This card cannot be used here yet. Please ask the staff.</source>
        <translation>このカードはまだご利用いただけません。係員にお尋ねください。</translation>
    </message>
    <message>
        <source>This account cannot be used now. Please ask at the booth.</source>
        <translation>このアカウントは現在ご利用いただけません。窓口にお尋ねください。</translation>
    </message>
    <message>
        <source>Please enter your PIN.</source>
        <translation>暗証番号を入力してください。</translation>
    </message>
    <message>
        <source>The PIN is not correct. Please try again.</source>
        <translation>暗証番号が違います。もう一度お試しください。</translation>
    </message>
    <message>
        <source>The PIN was wrong too often. Please ask at the booth.</source>
        <translation>暗証番号の誤りが多すぎます。窓口にお尋ねください。</translation>
    </message>
    <message>
        <source>This is more than the account can hold.</source>
        <translation>残高の上限を超えます。</translation>
    </message>
    <message>
        <source>This amount cannot be paid right now. Please ask the staff.</source>
        <translation>この金額は今はお支払いいただけません。係員にお尋ねください。</translation>
    </message>
    <message>
        <source>This gift code has been used already.</source>
        <translation>このギフトコードは使用済みです。</translation>
    </message>
    <message>
        <source>This gift code has expired.</source>
        <translation>このギフトコードは有効期限が切れています。</translation>
    </message>
    <message>
        <source>This voucher needs a larger purchase.</source>
        <translation>この商品券のご利用には、もう少しお買い上げが必要です。</translation>
    </message>
    <message>
        <source>This voucher cannot be used yet.</source>
        <translation>この商品券はまだご利用いただけません。</translation>
    </message>
    <message>
        <source>You have already used this offer.</source>
        <translation>この特典はすでにご利用済みです。</translation>
    </message>
    <message>
        <source>The code could not be read. Please show it again.</source>
        <translation>読み取れませんでした。もう一度お見せください。</translation>
    </message>
    <message>
        <source>This code cannot be used. Please show the card or the app's code.</source>
        <translation>このコードはご利用いただけません。カードかアプリのコードをお見せください。</translation>
    </message>
</context>
<context>
    <name>StatusLine</name>
    <message>
        <source>{0} s ago</source>
        <translation>{0}秒前</translation>
    </message>
    <message>
        <source>{0} min ago</source>
        <translation>{0}分前</translation>
    </message>
    <message>
        <source>{0} h ago</source>
        <translation>{0}時間前</translation>
    </message>
    <message>
        <source>{0} d ago</source>
        <translation>{0}日前</translation>
    </message>
    <message>
        <source>no network connection</source>
        <translation>ネットワークに接続できません</translation>
    </message>
    <message>
        <source>the ledger did not answer in time</source>
        <translation>台帳サーバーが時間内に応答しません</translation>
    </message>
    <message>
        <source>the ledger's certificate could not be verified</source>
        <translation>台帳サーバーの証明書を確認できません</translation>
    </message>
    <message>
        <source>the ledger did not accept this terminal's key</source>
        <translation>台帳サーバーがこの端末の鍵を受け付けません</translation>
    </message>
    <message>
        <source>the ledger refused records</source>
        <translation>台帳サーバーが記録を受け付けませんでした</translation>
    </message>
    <message>
        <source>the ledger had an error</source>
        <translation>台帳サーバーでエラーが発生しました</translation>
    </message>
    <message>
        <source>the ledger's answer could not be read</source>
        <translation>台帳サーバーの応答を読み取れません</translation>
    </message>
    <message>
        <source>this terminal's clock is wrong</source>
        <translation>この端末の時計がずれています</translation>
    </message>
    <message>
        <source>an error in this terminal's sync</source>
        <translation>この端末の同期処理でエラーが発生しました</translation>
    </message>
    <message>
        <source>the last sync failed</source>
        <translation>前回の同期に失敗しました</translation>
    </message>
    <message>
        <source>terminal {0}</source>
        <translation>端末 {0}</translation>
    </message>
    <message>
        <source>◌ Starting…</source>
        <translation>◌ 起動中…</translation>
    </message>
    <message>
        <source>● Online</source>
        <translation>● オンライン</translation>
    </message>
    <message>
        <source>○ Offline</source>
        <translation>○ オフライン</translation>
    </message>
    <message>
        <source>{0} unsent</source>
        <translation>未送信 {0}件</translation>
    </message>
    <message>
        <source>never synced</source>
        <translation>未同期</translation>
    </message>
    <message>
        <source>last sync {0} ({1})</source>
        <translation>最終同期 {0}（{1}）</translation>
    </message>
    <message>
        <source>{0} ({1} records)</source>
        <translation>{0}（{1}件）</translation>
    </message>
    <message>
        <source>✘ {0}, {1}</source>
        <translation>✘ {0}（{1}）</translation>
    </message>
    <message>
        <source>✘ {0}</source>
        <translation>✘ {0}</translation>
    </message>
    <message>
        <source>sending records…</source>
        <translation>記録を送信中…</translation>
    </message>
    <message>
        <source>fetching the ledger&apos;s news…</source>
        <translation>台帳から最新情報を受信中…</translation>
    </message>
    <message>
        <source>asking for offline limits…</source>
        <translation>オフライン利用枠を取得中…</translation>
    </message>
</context>
<context>
    <name>LogView</name>
    <message>
        <source>Log</source>
        <translation>ログ</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>再読み込み</translation>
    </message>
    <message>
        <source>The log could not be read: {0}</source>
        <translation>ログを読めません: {0}</translation>
    </message>
    <message>
        <source>last {0} lines</source>
        <translation>最新 {0} 行</translation>
    </message>
    <message>
        <source>No log lines yet.</source>
        <translation>ログはまだありません。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>a void</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>cash out of the drawer</source>
        <translation>ドロワーからの出金</translation>
    </message>
    <message>
        <source>the Z close</source>
        <translation>Z締め</translation>
    </message>
    <message>
        <source>closing a business day already closed (Z) again</source>
        <translation>締め済みの営業日をもう一度締めること</translation>
    </message>
    <message>
        <source>reopening a closed day</source>
        <translation>締めた営業日の再開</translation>
    </message>
    <message>
        <source>a change of settings</source>
        <translation>設定の変更</translation>
    </message>
    <message>
        <source>a refund above ¥{limit:,}</source>
        <translation>¥{limit:,}を超える返金</translation>
    </message>
    <message>
        <source>a grant above {limit:,} pt</source>
        <translation>{limit:,} ptを超える付与</translation>
    </message>
    <message>
        <source>a grant outside a running campaign</source>
        <translation>実施中のキャンペーン外の付与</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>サインアウト</translation>
    </message>
    <message>
        <source>Signed in: {0} ({1})</source>
        <translation>サインイン中: {0}（{1}）</translation>
    </message>
    <message>
        <source>Sign in: choose your name, type your PIN.</source>
        <translation>サインイン: 名前を選び、PINを入力してください。</translation>
    </message>
    <message>
        <source>Manager's PIN, please: {0}</source>
        <translation>店長のPINを入力してください: {0}</translation>
    </message>
    <message>
        <source>TRAINING: sales here are practice, never posted</source>
        <translation>練習モード: ここでの販売は練習で、計上されません</translation>
    </message>
    <message>
        <source>Yes, do it</source>
        <translation>はい、実行します</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <source>all that is left</source>
        <translation>残額すべて</translation>
    </message>
    <message>
        <source>Training mode</source>
        <translation>練習モード</translation>
    </message>
    <message>
        <source>Add staff</source>
        <translation>スタッフを追加</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <source>PIN (4-6 digits)</source>
        <translation>PIN（4〜6桁）</translation>
    </message>
    <message>
        <source>No staff yet: anyone can do anything at this counter. Make the first manager here.</source>
        <translation>スタッフが未登録です。この端末では誰でも何でもできます。ここで最初の店長を登録してください。</translation>
    </message>
    <message>
        <source>Void this sale?</source>
        <translation>この取引を取り消しますか？</translation>
    </message>
    <message>
        <source>Refund?</source>
        <translation>返金しますか？</translation>
    </message>
    <message>
        <source>Staff {0} ({1}): PIN {2}</source>
        <translation>スタッフ {0}（{1}）: PIN {2}</translation>
    </message>
    <message>
        <source>cashier</source>
        <translation>レジ係</translation>
    </message>
    <message>
        <source>booth</source>
        <translation>窓口係</translation>
    </message>
    <message>
        <source>manager</source>
        <translation>店長</translation>
    </message>
    <message>
        <source>Machi POS</source>
        <translation>まちPOS</translation>
    </message>
    <message>
        <source>Shop</source>
        <translation>お店</translation>
    </message>
    <message>
        <source>Booth</source>
        <translation>窓口</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>管理</translation>
    </message>
    <message>
        <source>English</source>
        <translation>English</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>お支払い</translation>
    </message>
    <message>
        <source>Balance</source>
        <translation>残高照会</translation>
    </message>
    <message>
        <source>Refund / void</source>
        <translation>返金・取消</translation>
    </message>
    <message>
        <source>Excluded goods</source>
        <translation>対象外商品</translation>
    </message>
    <message>
        <source>Top up (cash)</source>
        <translation>チャージ (現金)</translation>
    </message>
    <message>
        <source>Grant points</source>
        <translation>ポイント付与</translation>
    </message>
    <message>
        <source>New card</source>
        <translation>カード発行</translation>
    </message>
    <message>
        <source>Float in</source>
        <translation>釣銭 入金</translation>
    </message>
    <message>
        <source>Float out</source>
        <translation>釣銭 出金</translation>
    </message>
    <message>
        <source>Refund the amount typed</source>
        <translation>入力した金額を返金</translation>
    </message>
    <message>
        <source>Void the whole sale</source>
        <translation>この取引を取消</translation>
    </message>
    <message>
        <source>Age band</source>
        <translation>年代</translation>
    </message>
    <message>
        <source>Area</source>
        <translation>地区</translation>
    </message>
    <message>
        <source>Admin PIN</source>
        <translation>管理者PIN</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>ロック解除</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>今すぐ同期</translation>
    </message>
    <message>
        <source>Verify journal</source>
        <translation>ジャーナル検証</translation>
    </message>
    <message>
        <source>High contrast</source>
        <translation>ハイコントラスト</translation>
    </message>
    <message>
        <source>Large type</source>
        <translation>大きな文字</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>ロック</translation>
    </message>
    <message>
        <source>Set up this terminal: the ledger's address and the one-time code from the town office</source>
        <translation>端末の設定: 台帳サーバーのアドレスと、役場から届いたワンタイムコードを入力してください</translation>
    </message>
    <message>
        <source>Ledger key fingerprint, e.g. 3F2A 9C01 … (from the town office)</source>
        <translation>台帳鍵のフィンガープリント 例: 3F2A 9C01 … (役場から届いたもの)</translation>
    </message>
    <message>
        <source>The ledger key's fingerprint, from the town office (needed for an http:// address)</source>
        <translation>役場から届いた台帳鍵のフィンガープリント (http:// のアドレスでは必須)</translation>
    </message>
    <message>
        <source>Enroll</source>
        <translation>登録</translation>
    </message>
    <message>
        <source>Demo: tap a customer to present their card or app</source>
        <translation>デモ: お客様を選ぶとカード/アプリを提示します</translation>
    </message>
    <message>
        <source>Type the amount, then choose.</source>
        <translation>金額を入力して、操作を選んでください。</translation>
    </message>
    <message>
        <source>Type the amount first.</source>
        <translation>先に金額を入力してください。</translation>
    </message>
    <message>
        <source>Pay {0}: tap the card or show the app's code</source>
        <translation>{0} のお支払い: カードをかざすか、アプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Balance: tap the card or show the app's code</source>
        <translation>残高照会: カードをかざすか、アプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Top up {0}: tap the card or show the app's code</source>
        <translation>{0} のチャージ: カードをかざすか、アプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Grant {0} points: tap the card or show the app's code</source>
        <translation>{0} ポイント付与: カードをかざすか、アプリのコードを見せてください</translation>
    </message>
    <message>
        <source>New card: scan the blank card's number</source>
        <translation>カード発行: 新しいカードの番号を読み取ってください</translation>
    </message>
    <message>
        <source>Esc cancels.</source>
        <translation>Escキーで中止します。</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>中止しました。</translation>
    </message>
    <message>
        <source>One moment…</source>
        <translation>処理中…</translation>
    </message>
    <message>
        <source>Excluded goods: {0} (not payable with vouchers). Now type the total.</source>
        <translation>対象外商品 {0} (商品券では支払えません)。続けて合計金額を入力してください。</translation>
    </message>
    <message>
        <source>Choose a sale first.</source>
        <translation>先に取引を選んでください。</translation>
    </message>
    <message>
        <source>Balance ({0})</source>
        <translation>残高 ({0})</translation>
    </message>
    <message>
        <source>Paid {0}</source>
        <translation>{0} お支払い完了</translation>
    </message>
    <message>
        <source>Refunded {0}</source>
        <translation>{0} 返金しました</translation>
    </message>
    <message>
        <source>Voided {0}</source>
        <translation>{0} 取消しました</translation>
    </message>
    <message>
        <source>Topped up {0}</source>
        <translation>{0} チャージしました</translation>
    </message>
    <message>
        <source>Granted {0} points</source>
        <translation>{0} ポイント付与しました</translation>
    </message>
    <message>
        <source>New card issued</source>
        <translation>カードを発行しました</translation>
    </message>
    <message>
        <source>Cash float recorded: {0}</source>
        <translation>釣銭を記録しました: {0}</translation>
    </message>
    <message>
        <source>decided {0} · receipt no. {1}</source>
        <translation>{0}で判定 · レシート番号 {1}</translation>
    </message>
    <message>
        <source>Remaining {0}</source>
        <translation>残高 {0}</translation>
    </message>
    <message>
        <source>Choose a sale; type an amount for a partial refund.</source>
        <translation>取引を選んでください。一部返金は金額を入力してください。</translation>
    </message>
    <message>
        <source>Not accepted</source>
        <translation>ご利用いただけません</translation>
    </message>
    <message>
        <source>This terminal is not ready</source>
        <translation>この端末はまだ使えません</translation>
    </message>
    <message>
        <source>Not set up: {0}</source>
        <translation>未設定: {0}</translation>
    </message>
    <message>
        <source>Card</source>
        <translation>カード</translation>
    </message>
    <message>
        <source>App</source>
        <translation>アプリ</translation>
    </message>
    <message>
        <source>Terminal {0}
Data: {1}</source>
        <translation>端末 {0}
データ: {1}</translation>
    </message>
    <message>
        <source>Ledger keys pinned: {0}</source>
        <translation>登録済みの台帳鍵: {0}</translation>
    </message>
    <message>
        <source>Terminal {0} · starting…</source>
        <translation>端末 {0} · 起動中…</translation>
    </message>
    <message>
        <source>last sync {0} s ago</source>
        <translation>{0}秒前に同期</translation>
    </message>
    <message>
        <source>last sync {0} min ago</source>
        <translation>{0}分前に同期</translation>
    </message>
    <message>
        <source>never synced</source>
        <translation>未同期</translation>
    </message>
    <message>
        <source>{0} d</source>
        <translation>{0}日</translation>
    </message>
    <message>
        <source>{0} h</source>
        <translation>{0}時間</translation>
    </message>
    <message>
        <source>{0} min</source>
        <translation>{0}分</translation>
    </message>
    <message>
        <source>{0} s</source>
        <translation>{0}秒</translation>
    </message>
    <message>
        <source>⚠ This terminal's clock is {0} behind the ledger's time: set it right (sales are dated by the ledger's time meanwhile).</source>
        <translation>⚠ この端末の時計は台帳の時刻より{0}遅れています。時計を合わせてください（それまで取引は台帳の時刻で記録されます）。</translation>
    </message>
    <message>
        <source>⚠ This terminal's clock is {0} behind its last sale: set it right.</source>
        <translation>⚠ この端末の時計は最後の取引より{0}遅れています。時計を合わせてください。</translation>
    </message>
    <message>
        <source>⚠ This terminal's clock is {0} ahead of the ledger's time: app codes are refused until it is set right.</source>
        <translation>⚠ この端末の時計は台帳の時刻より{0}進んでいます。合わせるまでアプリのコードは使えません。</translation>
    </message>
    <message>
        <source>● Online</source>
        <translation>● オンライン</translation>
    </message>
    <message>
        <source>○ Offline</source>
        <translation>○ オフライン</translation>
    </message>
    <message>
        <source>{0} · {1} records not yet sent · {2} · terminal {3}</source>
        <translation>{0} · 未送信 {1}件 · {2} · 端末 {3}</translation>
    </message>
    <message>
        <source>online</source>
        <translation>オンライン</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>オフライン</translation>
    </message>
    <message>
        <source>Charged money</source>
        <translation>チャージ残高</translation>
    </message>
    <message>
        <source>Vouchers (all shops)</source>
        <translation>プレミアム商品券 (全店共通)</translation>
    </message>
    <message>
        <source>Vouchers (small shops)</source>
        <translation>プレミアム商品券 (中小店専用)</translation>
    </message>
    <message>
        <source>Points</source>
        <translation>ポイント</translation>
    </message>
    <message>
        <source>Readers</source>
        <translation>読み取り機</translation>
    </message>
    <message>
        <source>Offline limits: {0} per payment, {1} per wallet until the next sync, balances older than {2} h allow only {3}; wallet cap {4}</source>
        <translation>オフライン時の上限: 1回 {0}、次の同期までウォレットごとに {1}、{2}時間より古い残高では {3} まで。ウォレット残高の上限 {4}</translation>
    </message>
    <message>
        <source>receipt no. {0}</source>
        <translation>レシート番号 {0}</translation>
    </message>
    <message>
        <source>X report (so far)</source>
        <translation>途中集計 (X)</translation>
    </message>
    <message>
        <source>Close the day (Z)</source>
        <translation>日計締め (Z)</translation>
    </message>
    <message>
        <source>Cash counted</source>
        <translation>現金実査額</translation>
    </message>
    <message>
        <source>Count the cash in the drawer and enter it first.</source>
        <translation>先にレジの現金を数えて入力してください。</translation>
    </message>
    <message>
        <source>None (PDF)</source>
        <translation>なし (PDF)</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>ネットワーク</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>シリアル</translation>
    </message>
    <message>
        <source>Device file</source>
        <translation>デバイスファイル</translation>
    </message>
    <message>
        <source>Printer</source>
        <translation>プリンター</translation>
    </message>
    <message>
        <source>Save and test</source>
        <translation>保存してテスト</translation>
    </message>
    <message>
        <source>no printer: receipts as PDF</source>
        <translation>プリンターなし: レシートはPDF</translation>
    </message>
    <message>
        <source>checking…</source>
        <translation>確認中…</translation>
    </message>
    <message>
        <source>not saved: {0}</source>
        <translation>保存しませんでした: {0}</translation>
    </message>
    <message>
        <source>PIN (optional)</source>
        <translation>暗証番号 (任意)</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>PIN, please</source>
        <translation>暗証番号を入力してください</translation>
    </message>
    <message>
        <source>Voucher set sold for {0}</source>
        <translation>{0} 商品券セット販売</translation>
    </message>
    <message>
        <source>Gift code {0} …{1}</source>
        <translation>ギフトコード {0} …{1}</translation>
    </message>
    <message>
        <source>A gift code pays for a sale</source>
        <translation>ギフトコードはお支払いに使います</translation>
    </message>
    <message>
        <source>A gift code pays too: scan it now. Esc cancels.</source>
        <translation>ギフトコードでも払えます: いま読み取ってください。Escで取り消し。</translation>
    </message>
    <message>
        <source>Banquet</source>
        <translation>宴会</translation>
    </message>
    <message>
        <source>Campaigns</source>
        <translation>キャンペーン</translation>
    </message>
    <message>
        <source>Choose, then tap the card or show the app's code</source>
        <translation>選んでから、カードをかざすかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Exchanged: {0} added</source>
        <translation>交換しました: {0} 入金</translation>
    </message>
    <message>
        <source>Gift code added: {0}</source>
        <translation>ギフトコードを入金しました: {0}</translation>
    </message>
    <message>
        <source>Gift code into a wallet</source>
        <translation>ギフトコードをウォレットに入金</translation>
    </message>
    <message>
        <source>Gift code into a wallet: scan the gift code</source>
        <translation>ギフトコードを入金: ギフトコードを読み取ってください</translation>
    </message>
    <message>
        <source>Gift code read: now tap the card or show the app's code</source>
        <translation>ギフトコードを読み取りました: カードをかざすかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Goods {0} → to pay {1}</source>
        <translation>お買い上げ {0} → お支払い {1}</translation>
    </message>
    <message>
        <source>Granted {0} rides</source>
        <translation>{0}回分を付与しました</translation>
    </message>
    <message>
        <source>No campaigns at this booth today.</source>
        <translation>本日この窓口で行うキャンペーンはありません。</translation>
    </message>
    <message>
        <source>Now scan the gift code</source>
        <translation>次にギフトコードを読み取ってください</translation>
    </message>
    <message>
        <source>Paid {0} with a gift code</source>
        <translation>ギフトコードで {0} お支払い</translation>
    </message>
    <message>
        <source>People</source>
        <translation>人数</translation>
    </message>
    <message>
        <source>Ride</source>
        <translation>乗車</translation>
    </message>
    <message>
        <source>Ride recorded</source>
        <translation>乗車を記録しました</translation>
    </message>
    <message>
        <source>Ride: tap the card or show the app's code</source>
        <translation>乗車: カードをかざすかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>Rides</source>
        <translation>回数券</translation>
    </message>
    <message>
        <source>Sale {0}: the gift code paid {1}. No change is given.</source>
        <translation>お会計 {0}: ギフトコードで {1} お支払い。おつりは出ません。</translation>
    </message>
    <message>
        <source>Still to pay {0}</source>
        <translation>残りのお支払い {0}</translation>
    </message>
    <message>
        <source>Type the amount, press Pay, then scan the gift code.</source>
        <translation>金額を入力して「お支払い」を押し、ギフトコードを読み取ってください。</translation>
    </message>
    <message>
        <source>{0} rides</source>
        <translation>{0}回</translation>
    </message>
    <message>
        <source>until {0}</source>
        <translation>{0}まで</translation>
    </message>
    <message>
        <source>usable from {0}</source>
        <translation>{0}から利用可</translation>
    </message>
    <message>
        <source>Add diner</source>
        <translation>同席者を追加</translation>
    </message>
    <message>
        <source>Add diner ({0})</source>
        <translation>同席者を追加（{0}人）</translation>
    </message>
    <message>
        <source>Other diner: tap their card or show the app&apos;s code</source>
        <translation>同席者: カードをタッチするかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>{0} other diner(s) added</source>
        <translation>同席者{0}人を追加しました</translation>
    </message>
    <message>
        <source>Type the amount, press Pay, then the payer&apos;s card.</source>
        <translation>金額を入力して「支払い」を押し、支払う方のカードを読み取ってください。</translation>
    </message>
    <message>
        <source>{0}: {1} of {2} stamps {3} (completed {4})</source>
        <translation>{0}: スタンプ {1}/{2} {3}（達成 {4}回）</translation>
    </message>
    <message>
        <source>{0} rides left</source>
        <translation>残り {0}回</translation>
    </message>
    <message>
        <source>{0} × {1}: tap the card or show the app's code</source>
        <translation>{0} × {1}: カードをかざすかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>{0}: grant {1} pt</source>
        <translation>{0}: {1} pt 付与</translation>
    </message>
    <message>
        <source>{0}: grant {1} rides</source>
        <translation>{0}: {1}回分 付与</translation>
    </message>
    <message>
        <source>{0}: sell the {1} set (worth {2})</source>
        <translation>{0}: {1}のセットを販売 ({2}分)</translation>
    </message>
    <message>
        <source>{0}: tap the card or show the app's code</source>
        <translation>{0}: カードをかざすかアプリのコードを見せてください</translation>
    </message>
    <message>
        <source>{0}: {1} pt → {2} (type a number for more at once)</source>
        <translation>{0}: {1} pt → {2} (まとめて交換するときは数を入力)</translation>
    </message>
    <message>
        <source>↑ ↓ choose · Esc cancels.</source>
        <translation>↑ ↓ で選択 · Escで取り消し。</translation>
    </message>
    <message>
        <source>Wallet by id (look-up only)</source>
        <translation>ウォレットID(照会のみ)</translation>
    </message>
    <message>
        <source>Look up</source>
        <translation>照会</translation>
    </message>
    <message>
        <source>in use</source>
        <translation>利用中</translation>
    </message>
    <message>
        <source>suspended ({0})</source>
        <translation>停止中({0})</translation>
    </message>
    <message>
        <source>Wallet {0} ({1}, {2}): {3}</source>
        <translation>ウォレット {0}({1}、{2}): {3}</translation>
    </message>
    <message>
        <source>Rebuild state from the ledger</source>
        <translation>台帳から状態を作り直す</translation>
    </message>
    <message>
        <source>journal</source>
        <translation>取引記録</translation>
    </message>
    <message>
        <source>state</source>
        <translation>残高情報</translation>
    </message>
    <message>
        <source>⛔ This terminal's records are damaged ({0}): no sales. Manager: see the admin screen.</source>
        <translation>⛔ この端末の記録が壊れています({0})。販売できません。責任者は管理画面を確認してください。</translation>
    </message>
    <message>
        <source>⚠ Only {0} MiB left on this terminal's disk: free space before it is full.</source>
        <translation>⚠ この端末のディスクの空きが残り {0} MiB です。いっぱいになる前に空きを作ってください。</translation>
    </message>
    <message>
        <source>The state (the ledger's snapshot) can be rebuilt from the ledger; no record is lost.</source>
        <translation>残高情報(台帳のスナップショット)は台帳から作り直せます。記録は失われません。</translation>
    </message>
    <message>
        <source>The journal cannot be mended: export what verifies (python -m terminal journal export --out FILE), sync, and enroll this terminal anew in a new data directory.</source>
        <translation>取引記録は修復できません。検証できる分を書き出し(python -m terminal journal export --out FILE)、同期してから、新しいデータフォルダーでこの端末を登録し直してください。</translation>
    </message>
    <message>
        <source>Rebuilding the state from the ledger…</source>
        <translation>台帳から残高情報を作り直しています…</translation>
    </message>
    <message>
        <source>This terminal's records are damaged</source>
        <translation>この端末の記録が壊れています</translation>
    </message>
    <message>
        <source>Find by amount (1500) or time (14:05)</source>
        <translation>金額 (1500) か時刻 (14:05) で探す</translation>
    </message>
    <message>
        <source>Reprint the chosen receipt</source>
        <translation>選んだレシートを再発行</translation>
    </message>
    <message>
        <source>Reprint the last receipt</source>
        <translation>直前のレシートを再発行</translation>
    </message>
    <message>
        <source>Payment</source>
        <translation>お支払い</translation>
    </message>
    <message>
        <source>Refund</source>
        <translation>返金</translation>
    </message>
    <message>
        <source>Void</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Top-up</source>
        <translation>チャージ</translation>
    </message>
    <message>
        <source>Cash float</source>
        <translation>釣銭準備金</translation>
    </message>
    <message>
        <source>Gift code</source>
        <translation>ギフトコード</translation>
    </message>
    <message>
        <source>Exchange</source>
        <translation>ポイント交換</translation>
    </message>
    <message>
        <source>VOIDED</source>
        <translation>取消済</translation>
    </message>
    <message>
        <source>REFUNDED</source>
        <translation>返金済</translation>
    </message>
    <message>
        <source>refunded {0}</source>
        <translation>{0} 返金済</translation>
    </message>
    <message>
        <source>(not printed)</source>
        <translation>(未印刷)</translation>
    </message>
    <message>
        <source>Cash received</source>
        <translation>お預かり</translation>
    </message>
    <message>
        <source>short by {0}</source>
        <translation>{0} 不足</translation>
    </message>
    <message>
        <source>Change {0}</source>
        <translation>お釣り {0}</translation>
    </message>
    <message>
        <source>Close this shift</source>
        <translation>シフトを締める</translation>
    </message>
    <message>
        <source>Export the day's sheet</source>
        <translation>日計表を書き出す</translation>
    </message>
    <message>
        <source>Saved: {0}</source>
        <translation>保存しました: {0}</translation>
    </message>
    <message>
        <source>Receipts (F11)</source>
        <translation>レシート (F11)</translation>
    </message>
    <message>
        <source>Today's receipts</source>
        <translation>本日のレシート</translation>
    </message>
    <message>
        <source>Enter reprints the chosen one. Esc closes.</source>
        <translation>Enter で選んだレシートを再発行。Esc で閉じます。</translation>
    </message>
    <message>
        <source>Receipt no. {0} printed again (再発行)</source>
        <translation>レシート No.{0} を再発行しました</translation>
    </message>
    <message>
        <source>Not closed: this business day is already closed ({first}). Sales since belong to the next business day, {next}. A second close today needs a manager's approval; it then closes them as another shift of {day}.</source>
        <translation>締めていません: この営業日はすでに締めています ({first})。その後の売上は次の営業日 {next} に入ります。本日2回目の締めには責任者の承認が必要です。承認されると、それらを {day} の次のシフトとして締めます。</translation>
    </message>
    <message>
        <source>Business day {0} is closed. Sales from now on belong to the next business day, {1}.</source>
        <translation>営業日 {0} を締めました。これからの売上は次の営業日 {1} に入ります。</translation>
    </message>
    <!-- ui-core: ops, the frame, the admin screen's quit -->
    <message>
        <source>Quit the counter</source>
        <translation>レジを終了</translation>
    </message>
    <message>
        <source>Quit the counter?</source>
        <translation>レジを終了しますか?</translation>
    </message>
    <message>
        <source>Terminal {0} · ready · first sync running…</source>
        <translation>端末 {0} · 受付可 · 初回同期中…</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>クリア</translation>
    </message>
    <message>
        <source>the PIN check</source>
        <translation>暗証番号の確認</translation>
    </message>
    <message>
        <source>the X report</source>
        <translation>Xレポート</translation>
    </message>
    <message>
        <source>the approval</source>
        <translation>承認</translation>
    </message>
    <message>
        <source>the balance</source>
        <translation>残高照会</translation>
    </message>
    <message>
        <source>the campaigns</source>
        <translation>キャンペーン</translation>
    </message>
    <message>
        <source>the cash float</source>
        <translation>釣銭準備金</translation>
    </message>
    <message>
        <source>the day close</source>
        <translation>締め</translation>
    </message>
    <message>
        <source>the demo phone</source>
        <translation>デモのスマホ</translation>
    </message>
    <message>
        <source>the enrolment</source>
        <translation>端末の登録</translation>
    </message>
    <message>
        <source>the exchange</source>
        <translation>交換</translation>
    </message>
    <message>
        <source>the export</source>
        <translation>書き出し</translation>
    </message>
    <message>
        <source>the gift code</source>
        <translation>ギフトコード</translation>
    </message>
    <message>
        <source>the grant</source>
        <translation>付与</translation>
    </message>
    <message>
        <source>the journal check</source>
        <translation>ジャーナルの検証</translation>
    </message>
    <message>
        <source>the language</source>
        <translation>表示言語</translation>
    </message>
    <message>
        <source>the list of sales</source>
        <translation>売上一覧</translation>
    </message>
    <message>
        <source>the lock</source>
        <translation>ロック</translation>
    </message>
    <message>
        <source>the look-up</source>
        <translation>照会</translation>
    </message>
    <message>
        <source>the new card</source>
        <translation>新しいカード</translation>
    </message>
    <message>
        <source>the new staff member</source>
        <translation>新しいスタッフ</translation>
    </message>
    <message>
        <source>the payment</source>
        <translation>支払い</translation>
    </message>
    <message>
        <source>the printer</source>
        <translation>プリンター</translation>
    </message>
    <message>
        <source>the rebuild</source>
        <translation>再構築</translation>
    </message>
    <message>
        <source>the refund</source>
        <translation>返金</translation>
    </message>
    <message>
        <source>the reprint</source>
        <translation>再発行</translation>
    </message>
    <message>
        <source>the ride</source>
        <translation>乗車</translation>
    </message>
    <message>
        <source>the sale</source>
        <translation>販売</translation>
    </message>
    <message>
        <source>the sign-in</source>
        <translation>サインイン</translation>
    </message>
    <message>
        <source>the sign-out</source>
        <translation>サインアウト</translation>
    </message>
    <message>
        <source>the sync</source>
        <translation>同期</translation>
    </message>
    <message>
        <source>the terminal's records</source>
        <translation>端末の記録</translation>
    </message>
    <message>
        <source>the top-up</source>
        <translation>チャージ</translation>
    </message>
    <message>
        <source>today's receipts</source>
        <translation>本日のレシート</translation>
    </message>
    <message>
        <source>training mode</source>
        <translation>練習モード</translation>
    </message>
    <message>
        <source>10s</source>
        <translation>10代</translation>
    </message>
    <message>
        <source>20s</source>
        <translation>20代</translation>
    </message>
    <message>
        <source>30s</source>
        <translation>30代</translation>
    </message>
    <message>
        <source>40s</source>
        <translation>40代</translation>
    </message>
    <message>
        <source>50s</source>
        <translation>50代</translation>
    </message>
    <message>
        <source>60s</source>
        <translation>60代</translation>
    </message>
    <message>
        <source>70s</source>
        <translation>70代</translation>
    </message>
    <message>
        <source>80+</source>
        <translation>80代以上</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>カメラ</translation>
    </message>
    <message>
        <source>IC card reader</source>
        <translation>ICカードリーダー</translation>
    </message>
    <message>
        <source>Sound</source>
        <translation>音</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>使用できます</translation>
    </message>
    <message>
        <source>unavailable</source>
        <translation>使用できません</translation>
    </message>
    <message>
        <source>error</source>
        <translation>エラー</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>停止しました</translation>
    </message>
    <message>
        <source>no printer: receipts are saved as PDF</source>
        <translation>プリンターなし: レシートはPDFで保存されます</translation>
    </message>
    <message>
        <source>{0} ledger head(s) match, highest seq {1}</source>
        <translation>台帳の確認点 {0} 件と一致、最大通番 {1}</translation>
    </message>
    <message>
        <source>no ledger head kept yet</source>
        <translation>台帳の確認点はまだありません</translation>
    </message>
    <message>
        <source>✔ journal intact: terminal {0}, {1} records (seq 1..{2}), last hash {3}, {4}</source>
        <translation>✔ ジャーナル正常: 端末 {0}、{1} 件 (通番 1〜{2})、最終ハッシュ {3}、{4}</translation>
    </message>
    <message>
        <source>✘ The journal does not hold at record {0}. Export what verifies and call support.</source>
        <translation>✘ ジャーナルの通番 {0} の記録が正しくありません。検証できる分を書き出し、サポートに連絡してください。</translation>
    </message>
</context>
<context>
    <name>Refusal</name>
    <message>
        <source>Please sign in with your staff PIN first.</source>
        <translation>先にスタッフPINでサインインしてください。</translation>
    </message>
    <message>
        <source>A {role} may not do this ({action}).</source>
        <translation>{role}はこの操作（{action}）はできません。</translation>
    </message>
    <message>
        <source>This needs a manager: {why}</source>
        <translation>店長の承認が必要です: {why}</translation>
    </message>
    <message>
        <source>That PIN is not right ({left} tries left).</source>
        <translation>PINが違います（あと{left}回）。</translation>
    </message>
    <message>
        <source>Too many wrong PINs: {name} is locked for {minutes} minutes.</source>
        <translation>PINの誤りが多すぎます: {name}は{minutes}分間ロックされています。</translation>
    </message>
    <message>
        <source>No such staff member here.</source>
        <translation>このスタッフはこの端末に登録されていません。</translation>
    </message>
    <message>
        <source>Only a manager can approve this.</source>
        <translation>承認できるのは店長だけです。</translation>
    </message>
    <message>
        <source>One grant may be at most {cap:,} pt.</source>
        <translation>1回の付与は{cap:,} ptまでです。</translation>
    </message>
    <message>
        <source>Grants here today may be at most {cap:,} pt ({left:,} pt left).</source>
        <translation>本日この端末での付与は{cap:,} ptまでです（残り{left:,} pt）。</translation>
    </message>
    <message>
        <source>Staff: {detail}</source>
        <translation>スタッフ: {detail}</translation>
    </message>
    <message>
        <source>The amount must be a whole number of yen from 1 to {max:,}.</source>
        <translation>金額は1円から{max:,}円までの整数で入力してください。</translation>
    </message>
    <message>
        <source>This app code's certificate is forged.</source>
        <translation>アプリのコードの証明書が偽造されています。</translation>
    </message>
    <message>
        <source>This code or card number is not one of ours: {detail}</source>
        <translation>当システムのコード・カード番号ではありません: {detail}</translation>
    </message>
    <message>
        <source>Nothing was read. Please scan the card or the app&apos;s code again.</source>
        <translation>読み取れませんでした。カードまたはアプリのコードをもう一度読み取ってください。</translation>
    </message>
    <message>
        <source>This is a wallet number, which cannot pay or top up. Please show the app&apos;s payment code or the card.</source>
        <translation>これはウォレット番号のため、支払いやチャージには使えません。アプリの支払いコードかカードを提示してください。</translation>
    </message>
    <message>
        <source>This is a web address, not a payment code. Please show the app&apos;s payment code or the card.</source>
        <translation>これはWebアドレスで、支払いコードではありません。アプリの支払いコードかカードを提示してください。</translation>
    </message>
    <message>
        <source>This code is not a card, an app payment code or a gift code. Please show the card or the app&apos;s code.</source>
        <translation>カード・アプリの支払いコード・ギフトコードのいずれでもありません。カードかアプリのコードを提示してください。</translation>
    </message>
    <message>
        <source>A gift code pays for a sale; it does not stand for a customer. Please show the card or the app&apos;s code.</source>
        <translation>ギフトコードはお会計の支払いに使うもので、お客様を示すものではありません。カードかアプリのコードを提示してください。</translation>
    </message>
    <message>
        <source>A wallet id is letters, digits, &apos;.&apos;, &apos;_&apos; and &apos;-&apos; (up to 64).</source>
        <translation>ウォレットIDは英数字と「.」「_」「-」で64文字までです。</translation>
    </message>
    <message>
        <source>This app code was not made by the phone it belongs to.</source>
        <translation>このアプリのコードは本人の端末で作られたものではありません。</translation>
    </message>
    <message>
        <source>This card has been blocked (reported lost). Please ask the booth.</source>
        <translation>このカードは利用停止中です(紛失届)。窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>This card is already in use.</source>
        <translation>このカードはすでに使われています。</translation>
    </message>
    <message>
        <source>This app's certificate has expired: open the app online once.</source>
        <translation>アプリの証明書の期限が切れています。一度オンラインでアプリを開いてください。</translation>
    </message>
    <message>
        <source>This wallet is suspended ({detail}). Please ask the booth.</source>
        <translation>このウォレットは利用停止中です({detail})。窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>{name} can be spent from {day} on: not yet today.</source>
        <translation>{name}は{day}から利用できます（本日はまだ利用できません）。</translation>
    </message>
    <message>
        <source>{name} pays only for purchases of ¥{min:,} or more (this one: ¥{base:,}).</source>
        <translation>{name}は1回 ¥{min:,} 以上のお支払いにのみ使えます（今回 ¥{base:,}）。</translation>
    </message>
    <message>
        <source>{name} is not on sale today. Sale periods: {periods}.</source>
        <translation>{name}は本日は販売期間外です。販売期間：{periods}</translation>
    </message>
    <message>
        <source>{name} is sold through the app only: please show the app's code.</source>
        <translation>{name}はアプリでのみ購入できます。アプリのコードを提示してください。</translation>
    </message>
    <message>
        <source>{name} is sold onto cards only: please show the card.</source>
        <translation>{name}はカードでのみ購入できます。カードを提示してください。</translation>
    </message>
    <message>
        <source>Not enough balance: ¥{available:,} can be used here.</source>
        <translation>残高が足りません。このお店で使えるのは ¥{available:,} です。</translation>
    </message>
    <message>
        <source>This is not a Machi POS app code.</source>
        <translation>当システムのアプリのコードではありません。</translation>
    </message>
    <message>
        <source>That sale is not in this terminal's journal.</source>
        <translation>この取引はこの端末のジャーナルにありません。</translation>
    </message>
    <message>
        <source>That sale cannot be refunded: {detail}</source>
        <translation>この取引は返金できません: {detail}</translation>
    </message>
    <message>
        <source>Offline, this app may spend at most ¥{limit:,} (¥{left:,} left) until the next sync.</source>
        <translation>オフライン中、このアプリは次の同期まで ¥{limit:,} まで使えます(残り ¥{left:,})。</translation>
    </message>
    <message>
        <source>A wallet may hold at most ¥{cap:,}: at most ¥{room:,} can be charged.</source>
        <translation>ウォレットの上限は ¥{cap:,} です。チャージできるのは ¥{room:,} までです。</translation>
    </message>
    <message>
        <source>Offline, one payment may be at most ¥{limit:,}.</source>
        <translation>オフライン中は1回のお支払いは ¥{limit:,} までです。</translation>
    </message>
    <message>
        <source>Offline, this wallet may spend at most ¥{limit:,} here until the next sync (¥{left:,} left).</source>
        <translation>オフライン中、このウォレットは次の同期まで ¥{limit:,} まで使えます(残り ¥{left:,})。</translation>
    </message>
    <message>
        <source>At most ¥{left:,} of that sale can still be refunded.</source>
        <translation>この取引で返金できるのは、あと ¥{left:,} までです。</translation>
    </message>
    <message>
        <source>This app code was already used: show the live code.</source>
        <translation>このアプリのコードはすでに使われました。表示中のコードを見せてください。</translation>
    </message>
    <message>
        <source>The balances here are too old (last sync {hours} h ago): only payments up to ¥{limit:,} until the next sync.</source>
        <translation>残高情報が古すぎます(最終同期 {hours} 時間前)。次の同期まで ¥{limit:,} までのお支払いのみです。</translation>
    </message>
    <message>
        <source>This app code is too old (a photo or screenshot?): show the live code.</source>
        <translation>古いアプリのコードです(写真やスクリーンショット?)。表示中のコードを見せてください。</translation>
    </message>
    <message>
        <source>This card is not known yet. Try again after the next sync, or ask the booth.</source>
        <translation>まだ登録されていないカードです。次の同期の後にもう一度お試しいただくか、窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>This app code was issued by a ledger this terminal does not know.</source>
        <translation>この端末が知らない台帳が発行したアプリのコードです。</translation>
    </message>
    <message>
        <source>This wallet is not known to this terminal yet.</source>
        <translation>この端末ではまだ知らないウォレットです。</translation>
    </message>
    <message>
        <source>This wallet is suspended. Please ask the booth.</source>
        <translation>このウォレットは利用停止中です。窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>Above ¥{above:,} this card needs its PIN: please type it.</source>
        <translation>¥{above:,} を超えるお支払いには、このカードの暗証番号が必要です。入力してください。</translation>
    </message>
    <message>
        <source>That PIN is not this card's ({left} tries left).</source>
        <translation>暗証番号が違います (あと {left} 回)。</translation>
    </message>
    <message>
        <source>Too many wrong PINs: this card is locked here. Please ask the booth.</source>
        <translation>暗証番号の誤りが続いたため、この端末ではこのカードを使えません。窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>The PIN: {detail}</source>
        <translation>暗証番号: {detail}</translation>
    </message>
    <message>
        <source>A gift code cannot pay for excluded goods.</source>
        <translation>ギフトコードは対象外の商品には使えません。</translation>
    </message>
    <message>
        <source>No rides left on this wallet for this service.</source>
        <translation>このウォレットにはこのサービスの残り回数がありません。</translation>
    </message>
    <message>
        <source>Not enough points: {need:,} pt needed, {have:,} pt held.</source>
        <translation>ポイントが足りません。必要 {need:,} pt、お持ち {have:,} pt。</translation>
    </message>
    <message>
        <source>The number of people must be from 1 to {max}.</source>
        <translation>人数は1から{max}までで入力してください。</translation>
    </message>
    <message>
        <source>Another diner&apos;s card or code was refused: {detail} Press Esc to take the payment without the diners.</source>
        <translation>同席の方のカードまたはコードは使えません: {detail} Escを押すと同席の方なしでお支払いを受けられます。</translation>
    </message>
    <message>
        <source>Exchanges at once must be from 1 to {max}.</source>
        <translation>一度に交換できるのは1から{max}回までです。</translation>
    </message>
    <message>
        <source>This campaign is not known to this terminal.</source>
        <translation>この端末が知らないキャンペーンです。</translation>
    </message>
    <message>
        <source>This gift code belongs to no campaign this terminal knows.</source>
        <translation>このギフトコードは、この端末が知るどのキャンペーンのものでもありません。</translation>
    </message>
    <message>
        <source>This gift code has already been used.</source>
        <translation>このギフトコードはすでに使われています。</translation>
    </message>
    <message>
        <source>The ledger has no such gift code. Please ask the booth.</source>
        <translation>このギフトコードは台帳に登録がありません。窓口でお尋ねください。</translation>
    </message>
    <message>
        <source>This gift code has expired.</source>
        <translation>このギフトコードは有効期限が切れています。</translation>
    </message>
    <message>
        <source>This gift code is forged.</source>
        <translation>このギフトコードは偽造されています。</translation>
    </message>
    <message>
        <source>This gift code was issued by a ledger this terminal does not know.</source>
        <translation>この端末が知らない台帳が発行したギフトコードです。</translation>
    </message>
    <message>
        <source>This is not a Machi POS gift code.</source>
        <translation>当システムのギフトコードではありません。</translation>
    </message>
    <message>
        <source>{name} is not running here today.</source>
        <translation>{name}は本日このお店では行っていません。</translation>
    </message>
    <message>
        <source>{name} sells sets at {prices} only.</source>
        <translation>{name}のセットは {prices} のみです。</translation>
    </message>
    <message>
        <source>{name}: none left at this terminal (it gets more when online).</source>
        <translation>{name}: この端末の割当分がなくなりました(オンラインになると補充されます)。</translation>
    </message>
    <message>
        <source>{name}: this customer has had it as often as the rules allow.</source>
        <translation>{name}: このお客様はすでに上限まで受けています。</translation>
    </message>
    <message>
        <source>This terminal's records are damaged: no sale can be made here. Please call the manager.</source>
        <translation>この端末の記録が壊れているため、ここでは販売できません。責任者を呼んでください。</translation>
    </message>
    <message>
        <source>This terminal's disk is full ({free_mib} MiB free): the sale was not recorded. Please call the manager.</source>
        <translation>この端末のディスクがいっぱいです(空き {free_mib} MiB)。この取引は記録されていません。責任者を呼んでください。</translation>
    </message>
</context>
<context>
    <name>effectwords</name>
    <message>
        <source>{name}: none left at this terminal.</source>
        <translation>{name}: この端末の割当分がなくなりました。</translation>
    </message>
    <message>
        <source>{name}: this customer has had it as often as the rules allow.</source>
        <translation>{name}: このお客様はすでに上限まで受けています。</translation>
    </message>
    <message>
        <source>{name}: this card already has this shop&apos;s stamp.</source>
        <translation>{name}: このカードにはすでにこのお店のスタンプがあります。</translation>
    </message>
    <message>
        <source>{name}: this customer has finished the rally {max} times already.</source>
        <translation>{name}: このお客様はすでに{max}回ラリーを達成しています。</translation>
    </message>
    <message>
        <source>{name}: the card is complete; completion will be confirmed (the prize comes with the next update).</source>
        <translation>{name}: カードが完成しました。達成は確認後に確定します（賞品は次回の更新で届きます）。</translation>
    </message>
    <message>
        <source>{name}: stamped offline; if the card&apos;s other stamps complete it, completion will be confirmed.</source>
        <translation>{name}: オフラインでスタンプを付与しました。ほかのお店のスタンプでカードが完成していれば、達成は確認後に確定します。</translation>
    </message>
    <message>
        <source>{name}: a diner&apos;s share ¥{share} is under ¥{threshold}: no stamp for the other diners.</source>
        <translation>{name}: 1人当たり¥{share}で¥{threshold}に届かないため、ほかの方へのスタンプはありません。</translation>
    </message>
    <message>
        <source>{name}: only restaurants stamp the other diners&apos; cards.</source>
        <translation>{name}: ほかの方のカードへのスタンプは飲食店のみです。</translation>
    </message>
    <message>
        <source>¥{yen} of what the sale granted was spent already: kept from the money given back.</source>
        <translation>この取引で付与した分のうち¥{yen}はすでに使われているため、返金額から差し引きました。</translation>
    </message>
    <message>
        <source>¥{yen} more was spent than the sale gives back: the wallet owes it and is suspended until it is settled.</source>
        <translation>返金額より¥{yen}多く使われています。ウォレットの未払いとなり、精算されるまで停止されます。</translation>
    </message>
</context>
<context>
    <name>Campaign</name>
    <message>
        <source>{name}: {n} stamp(s)</source>
        <translation>{name}: スタンプ {n}個</translation>
    </message>
    <message>
        <source>early-bird discount here</source>
        <translation>この店の先着割引</translation>
    </message>
    <message>
        <source>Card complete!</source>
        <translation>カード完成!</translation>
    </message>
    <message>
        <source>Card complete! Prize</source>
        <translation>カード完成! 賞品</translation>
    </message>
    <message>
        <source>other diner&apos;s card</source>
        <translation>同席の方のカード</translation>
    </message>
    <message>
        <source>Card complete! Prize to be confirmed</source>
        <translation>カード完成! 賞品は確認後に付与</translation>
    </message>
    <message>
        <source>{name}: bonus</source>
        <translation>{name}: ボーナス</translation>
    </message>
    <message>
        <source>+{n} pt</source>
        <translation>+{n} pt</translation>
    </message>
    <message>
        <source>{name} {price} set: all shops {common} + small shops {exclusive}</source>
        <translation>{name} {price}セット: 共通 {common} + 中小店専用 {exclusive}</translation>
    </message>
    <message>
        <source>{name}: {n} rides</source>
        <translation>{name}: {n}回分</translation>
    </message>
    <message>
        <source>{name}: {n} rides left</source>
        <translation>{name}: 残り {n}回</translation>
    </message>
    <message>
        <source>{name}: {points} pt → {value}</source>
        <translation>{name}: {points} pt → {value}</translation>
    </message>
    <message>
        <source>{name} ({value}): {paid} used, no change given</source>
        <translation>{name} ({value}): {paid} 使用, おつりは出ません</translation>
    </message>
    <message>
        <source>Not used (not refunded)</source>
        <translation>使われなかった分 (返金なし)</translation>
    </message>
    <message>
        <source>{name}: {value} added</source>
        <translation>{name}: {value} 入金</translation>
    </message>
    <message>
        <source>{name}: taken back</source>
        <translation>{name}: 取り消し</translation>
    </message>
</context>
<context>
    <name>Op</name>
    <message>
        <source>Working… waiting for {0}</source>
        <translation>処理中… {0}を待っています</translation>
    </message>
    <message>
        <source>No answer after {0} s while waiting for {1}. It may still be done: look at today&apos;s receipts (F11) before trying again.</source>
        <translation>{1}の応答が {0} 秒ありません。処理が済んでいる場合があります。やり直す前に本日のレシート (F11) を確認してください。</translation>
    </message>
</context>
<context>
    <name>Failure</name>
    <message>
        <source>The request was not in the expected form.</source>
        <translation>要求の形式が正しくありません。</translation>
    </message>
    <message>
        <source>The ledger's answer carried no valid time.</source>
        <translation>台帳の応答に正しい時刻がありません。</translation>
    </message>
    <message>
        <source>This receipt cannot be made.</source>
        <translation>このレシートは作成できません。</translation>
    </message>
    <message>
        <source>The demo ledger could not be started.</source>
        <translation>デモ用の台帳を起動できませんでした。</translation>
    </message>
    <message>
        <source>The register connection cannot start.</source>
        <translation>レジ連携の受付を開始できません。</translation>
    </message>
    <message>
        <source>The journal cannot be opened or written.</source>
        <translation>ジャーナルを開けないか、書き込めません。</translation>
    </message>
    <message>
        <source>The journal's records do not hold together. Export it and call support.</source>
        <translation>ジャーナルの記録のつながりが正しくありません。書き出して、サポートに連絡してください。</translation>
    </message>
    <message>
        <source>The journal was found damaged, so the day cannot be closed. Export it and call support.</source>
        <translation>ジャーナルが破損しているため、締めはできません。書き出して、サポートに連絡してください。</translation>
    </message>
    <message>
        <source>That receipt cannot be found or made again.</source>
        <translation>そのレシートは見つからないか、再発行できません。</translation>
    </message>
    <message>
        <source>This terminal is not enrolled with the ledger yet.</source>
        <translation>この端末はまだ台帳に登録されていません。</translation>
    </message>
    <message>
        <source>The terminal is not ready yet.</source>
        <translation>端末の準備がまだできていません。</translation>
    </message>
    <message>
        <source>The command line cannot be read.</source>
        <translation>コマンドを読み取れません。</translation>
    </message>
    <message>
        <source>The key to seal card PINs is missing.</source>
        <translation>カードの暗証番号を保護する鍵がありません。</translation>
    </message>
    <message>
        <source>The printer cannot be used. Check its power, paper and cable.</source>
        <translation>プリンターを使用できません。電源・用紙・ケーブルを確認してください。</translation>
    </message>
    <message>
        <source>Not accepted.</source>
        <translation>受け付けられません。</translation>
    </message>
    <message>
        <source>The repair did not succeed.</source>
        <translation>修復できませんでした。</translation>
    </message>
    <message>
        <source>The day was already closed today. A second close needs a manager's approval.</source>
        <translation>本日はすでに締めています。もう一度締めるには責任者の承認が必要です。</translation>
    </message>
    <message>
        <source>This tally cannot be made.</source>
        <translation>この集計は作成できません。</translation>
    </message>
    <message>
        <source>The terminal could not do that.</source>
        <translation>端末でこの操作ができませんでした。</translation>
    </message>
    <message>
        <source>That could not be done.</source>
        <translation>この操作はできませんでした。</translation>
    </message>
    <message>
        <source>A database of this terminal is damaged.</source>
        <translation>この端末のデータベースが破損しています。</translation>
    </message>
    <message>
        <source>The terminal could not start.</source>
        <translation>端末を起動できませんでした。</translation>
    </message>
    <message>
        <source>Enrolling with the ledger did not succeed.</source>
        <translation>台帳への登録ができませんでした。</translation>
    </message>
    <message>
        <source>The printer did not answer.</source>
        <translation>プリンターが応答しません。</translation>
    </message>
    <message>
        <source>An error in this terminal. It is written in the log.</source>
        <translation>端末内のエラーです。ログに記録しました。</translation>
    </message>
</context>
</TS>
