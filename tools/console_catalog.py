"""Writes the console's zh_CN catalog (messages.po) from the table below; run after adding strings.

Usage: .venv/bin/python tools/console_catalog.py
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

ZH_CN = {
    "Amount": "金额",
    "Average order value": "客单价",
    "Categories bought": "购买品类",
    "Channel": "渠道",
    "Channels": "渠道",
    "City": "城市",
    "Customer": "客户",
    "Customers": "客户",
    "Duplicate": "重复",
    "Email": "邮箱",
    "Events": "事件",
    "Evidence": "依据",
    "File": "文件",
    "First seen": "首次出现",
    "Identifiers": "身份标识",
    "Import history": "导入记录",
    "Imports": "导入",
    "Items": "商品",
    "Kind": "类型",
    "Last seen": "最近出现",
    "Log in": "登录",
    "Log out": "退出",
    "Merge history": "合并记录",
    "Merges": "合并",
    "Name": "姓名",
    "No customer found.": "没有找到客户。",
    "No imports yet.": "还没有导入记录。",
    "No merges.": "没有合并记录。",
    "No orders.": "没有订单。",
    "Not found": "未找到",
    "Nothing with that number in this workspace.": "本工作区没有这个编号。",
    "Order number": "订单编号",
    "Orders": "订单",
    "Password": "密码",
    "Phone": "手机",
    "Phone, name, identifier or order number": "手机号、姓名、任一标识或订单号",
    "Placed": "下单时间",
    "Preferred channel": "偏好渠道",
    "Read": "读取",
    "Rejected": "拒收",
    "Rule": "规则",
    "Search": "搜索",
    "Something needs your attention": "需要处理",
    "Started": "开始时间",
    "Status": "状态",
    "Stored": "入库",
    "Timeline": "时间线",
    "Total spent": "累计消费",
    "Undo": "撤销",
    "Unnamed customer": "未命名客户",
    "When": "时间",
    "error report": "错误报告",
    "event": "事件",
    "liuyu": "流域",
    "masked by the platform; never used to merge": "平台已脱敏，不参与合并",
    "refunded": "已退款",
    "undone": "已撤销",
    "verified": "已验证",
    "Wrong email or password.": "邮箱或密码不对。",
    # roles
    "admin": "管理员",
    "operator": "运营",
    "agent": "客服",
    "supervisor": "主管",
    "analyst": "分析师",
    "ingest": "数据写入",
    # channels
    "tmall": "天猫",
    "taobao": "淘宝",
    "jd": "京东",
    "douyin": "抖音",
    "wechat": "微信",
    "wecom": "企业微信",
    "miniprogram": "小程序",
    "app": "App",
    "web": "网站",
    "store": "门店",
    "hotline": "热线",
    "email": "邮件",
    "other": "其他",
    # statuses
    "pending_payment": "待付款",
    "paid": "已付款",
    "shipped": "已发货",
    "completed": "已完成",
    "cancelled": "已取消",
    "running": "进行中",
    "done": "完成",
    "done_with_errors": "完成（有拒收）",
    # identifier kinds
    "phone": "手机号",
    "unionid": "微信 UnionID",
    "member_no": "会员号",
    "tmall_open_uid": "天猫 OpenUID",
    "tmall_oaid": "天猫 OAID",
    "tmall_nick": "天猫昵称",
    "jd_open_id": "京东 open_id",
    "jd_xid": "京东 xid",
    "jd_pin": "京东账号",
    "douyin_open_id": "抖店 open_id",
    "wecom_external_userid": "企业微信客户 ID",
    "wechat_openid": "微信 OpenID",
    "app_user_id": "App 用户 ID",
    "device_id": "设备 ID",
    "anonymous_id": "匿名 ID",
    "user_id": "用户 ID",
    # event types
    "identify": "身份识别",
    "order_placed": "下单",
    "order_paid": "付款",
    "order_shipped": "发货",
    "order_completed": "确认收货",
    "order_cancelled": "订单取消",
    "order_refunded": "退款",
    "product_viewed": "浏览商品",
    "cart_added": "加购",
    "login": "登录",
    "followed": "关注",
    "unfollowed": "取消关注",
    "review_posted": "发表评价",
    "community_post": "社区发帖",
    "page_viewed": "浏览页面",
    "custom": "自定义事件",
}


def main() -> None:
    catalog = Catalog(locale="zh_CN", project="liuyu", version="0.1", charset="utf-8")
    for msgid, text in sorted(ZH_CN.items()):
        catalog.add(msgid, text)
    path = Path(__file__).resolve().parents[1] / "src/liuyu/console/locales/zh_CN/LC_MESSAGES/messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=120)
    print(f"{len(ZH_CN)} messages -> {path.name}")


if __name__ == "__main__":
    main()
