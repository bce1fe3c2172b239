#!/usr/bin/env python3
"""Writes queries.json: requests phrased the way users ask an agent, each with the one
tool that should answer it. Written by hand, not derived from descriptions; many use
words the tool definition does not contain (basket/cart, coworker/employee, ...).

Run: python3 tests/search-eval/queries.py
"""
import json
import os

Q = [
    # commerce: cart vs catalog vs promotions vs orders vs payments
    ("what's in my basket right now?", "cart___list_items"),
    ("put two of SKU TSHIRT-RED-M in my cart", "cart___add_item"),
    ("take the blue mug out of my cart", "cart___remove_item"),
    ("empty my shopping cart", "cart___clear_cart"),
    ("I only want 3 of those sneakers in my cart, not 5", "cart___update_item_quantity"),
    ("use promo code SUMMER10 on my basket", "cart___apply_coupon"),
    ("how much would delivery to 75011 France cost for my cart", "cart___estimate_shipping"),
    ("place the order and pay with my saved visa", "cart___checkout"),
    ("which shoppers left items in their cart without buying yesterday", "cart___list_abandoned_carts"),
    ("show the details of line 3 in cart 881", "cart___get_item"),
    ("show me the product page details for product 5521", "catalog___get_item"),
    ("find waterproof hiking boots under 120 euros", "catalog___search_products"),
    ("what sizes and colours does this jacket come in", "catalog___list_variants"),
    ("what do customers say about this blender, star ratings", "catalog___get_product_reviews"),
    ("change the price of SKU LAMP-01 to 49.90 EUR", "catalog___set_price"),
    ("stop selling the discontinued kettle on the storefront", "catalog___archive_product"),
    ("people who bought this also bought", "catalog___get_related_products"),
    ("make a 20% off code BLACKFRIDAY that expires on Monday", "promotions___create_coupon"),
    ("is code WELCOME5 still usable for this customer", "promotions___validate_coupon"),
    ("kill the leaked discount code FREESHIP immediately", "promotions___deactivate_coupon"),
    ("how much money is left on gift card 6012", "promotions___get_gift_card_balance"),
    ("how many points does this customer have in our rewards program", "promotions___get_loyalty_points"),
    ("run 30% off all outdoor gear next weekend", "promotions___create_sale"),
    ("where is my package for order 10023", "orders___track_shipment"),
    ("customer wants to send back a damaged lamp from order 552", "orders___create_return"),
    ("cancel order 7781 before it ships", "orders___cancel_order"),
    ("give the customer their money back for order 9912", "orders___refund_order"),
    ("buy the same things as my last order again", "orders___reorder"),
    ("I need the invoice PDF for my order 4410", "orders___get_invoice"),
    ("refund the card charge pay_3MtwBw", "payments___refund_payment"),
    ("which chargebacks need a response", "payments___list_disputes"),
    ("start a monthly plan for customer cus_88 with a 14 day trial", "payments___create_subscription"),
    ("when does the money from card sales hit our bank account", "payments___list_payouts"),
    ("how many units of SKU CHAIR-9 do we have in the Lyon warehouse", "inventory___get_stock_level"),
    ("which products are about to run out and need reordering", "inventory___list_low_stock"),
    ("move 40 chairs from Lyon to the Paris depot", "inventory___transfer_stock"),
    ("order more stock from our supplier Acme", "inventory___create_purchase_order"),
    ("we found 3 broken vases during the count, fix the stock", "inventory___adjust_stock"),
    # CRM vs email contacts, tickets vs code issues
    ("look up Jane Doe from Globex in the CRM", "crm___search_contacts"),
    ("what's Jane's email address, she's in my address book", "email___search_contacts"),
    ("which deals are expected to close this month", "crm___list_deals"),
    ("move the Initech opportunity to closed won", "crm___update_deal_stage"),
    ("note that I called Bob at Hooli about renewal", "crm___log_activity"),
    ("remind me to follow up with Acme's CFO on Friday", "crm___create_task"),
    ("there are two records for the same person, combine them", "crm___merge_contacts"),
    ("turn this qualified lead into a customer account and deal", "crm___convert_lead"),
    ("what revenue will we book in Q3", "crm___get_pipeline_forecast"),
    ("a customer says they can't log in, open a support case", "tickets___create_ticket"),
    ("tell the customer on ticket 4412 that a fix is coming", "tickets___reply_to_ticket"),
    ("leave a private comment on ticket 993 for the other agents", "tickets___add_internal_note"),
    ("which support requests are going to miss their response deadline", "tickets___get_sla_breaches"),
    ("what are my open tickets", "tickets___list_my_tickets"),
    ("find a help article about resetting passwords to send to the customer", "tickets___search_knowledge_base"),
    ("file a bug in the backend repo about the login crash", "code___create_issue"),
    ("which issues are open with the bug label in acme/web", "code___list_issues"),
    # HR, IAM
    ("who works in the marketing department", "hr___list_employees"),
    ("when did Maria start and who is her manager", "hr___get_employee"),
    ("I want to take next Friday off", "hr___request_time_off"),
    ("how many vacation days do I have left", "hr___get_time_off_balance"),
    ("approve Tom's holiday request", "hr___approve_time_off"),
    ("show me my salary slip for May", "hr___get_payslip"),
    ("give Priya a raise to 95k starting July", "hr___update_salary"),
    ("set up a new hire starting Monday as a data analyst", "hr___create_employee"),
    ("which jobs are we hiring for", "hr___list_open_positions"),
    ("is the office closed on bank holidays in Berlin this year", "hr___list_holidays"),
    ("lock out the account of the contractor who left", "iam___suspend_user"),
    ("a user lost their phone and can't do two-factor", "iam___reset_mfa"),
    ("give alice admin rights", "iam___assign_role"),
    ("who tried to sign in with a wrong password last night", "iam___list_sign_in_logs"),
    ("issue a token for the billing service account with read scope", "iam___create_api_key"),
    # finance
    ("bill Acme for 10 hours of consulting at 150 per hour", "finance___create_invoice"),
    ("who hasn't paid us and is late", "finance___list_overdue_invoices"),
    ("Acme paid invoice INV-204 by bank transfer today", "finance___record_payment"),
    ("claim back my taxi receipt from the conference", "finance___submit_expense"),
    ("are we profitable this quarter, income statement please", "finance___get_profit_and_loss"),
    ("how many dollars is 500 euros today", "finance___get_exchange_rate"),
    ("how much is in the business checking account", "finance___get_account_balance"),
    ("lock June so nobody posts more entries to it", "finance___close_period"),
    # devops, monitoring, code
    ("kick off a build of the main branch for acme/api", "ci___trigger_pipeline"),
    ("why did the build fail, show me the job output", "ci___get_job_logs"),
    ("ship version 2.4.1 of checkout-service to production", "ci___deploy"),
    ("the release broke prod, go back to the previous version", "ci___rollback_deployment"),
    ("which tests keep randomly failing", "ci___list_flaky_tests"),
    ("re-run only the jobs that failed in run 5531", "ci___retry_failed_jobs"),
    ("what alerts are firing right now", "monitoring___list_alerts"),
    ("the site is down, declare a sev1 and page someone", "monitoring___create_incident"),
    ("who is on call for payments tonight", "monitoring___get_on_call"),
    ("mute the disk space alert during tonight's maintenance window", "monitoring___silence_alert"),
    ("find error logs from the checkout service in the last hour", "monitoring___search_logs"),
    ("what's the p99 latency of the api over the past day", "monitoring___query_metrics"),
    ("are we meeting our SLO for the search service", "monitoring___get_service_health"),
    ("merge PR 42 with squash", "code___merge_pull_request"),
    ("what changed in pull request 17", "code___get_pull_request_diff"),
    ("ask Bob and Carol to review my PR", "code___request_review"),
    ("where in our code do we call parse_config", "code___search_code"),
    ("show me the README of acme/web", "code___get_file_contents"),
    ("cut a v1.2.0 release with notes", "code___create_release"),
    # calendar, email, chat
    ("what meetings do I have tomorrow", "calendar___list_events"),
    ("book a 30 minute sync with Ana and Raj on Thursday at 10", "calendar___create_event"),
    ("when are Ana, Raj and I all free for an hour this week", "calendar___find_free_time"),
    ("find a room for 8 people at 3pm", "calendar___find_meeting_room"),
    ("decline the budget review invite", "calendar___respond_to_invitation"),
    ("set up a weekly one-on-one with my manager every Monday", "calendar___create_recurring_event"),
    ("push the design review to next week", "calendar___update_event"),
    ("email the quarterly report to the finance team", "email___send_message"),
    ("find the email from DHL about customs last week", "email___search_messages"),
    ("what new mail did I get", "email___list_unread"),
    ("answer everyone on that thread saying I agree", "email___reply_to_message"),
    ("turn on my out-of-office auto reply while I'm on vacation", "email___set_auto_reply"),
    ("automatically archive newsletters from this sender", "email___create_filter"),
    ("post in #deploys that the release is done", "chat___send_message"),
    ("what has been said in the #incidents channel today", "chat___get_channel_history"),
    ("make a private channel for the acquisition project", "chat___create_channel"),
    ("is Dmitri online right now", "chat___get_user_presence"),
    ("find where someone mentioned the VPN outage in slack", "chat___search_messages"),
    # storage, docs, analytics, maps, marketing, travel
    ("give me a link to download the Q2 board deck", "storage___download_file"),
    ("rename the contracts folder to legal", "storage___move_file"),
    ("I overwrote the budget spreadsheet, get yesterday's version back", "storage___restore_file_version"),
    ("share the design folder with the agency so they can edit", "storage___share_file"),
    ("how much of our storage quota is used", "storage___get_storage_usage"),
    ("automatically delete log objects older than 90 days in the bucket", "storage___set_bucket_lifecycle"),
    ("find the onboarding guide in the wiki", "docs___search_pages"),
    ("write up the meeting notes as a new wiki page in the Eng space", "docs___create_page"),
    ("how many people are on the website at this moment", "analytics___get_realtime_visitors"),
    ("what share of signups reach checkout and then purchase", "analytics___get_funnel"),
    ("do users come back a week after signing up", "analytics___get_retention"),
    ("which variant won the pricing page experiment", "analytics___get_ab_test_results"),
    ("where does our website traffic come from", "analytics___get_traffic_sources"),
    ("query the warehouse: count orders per day", "analytics___run_sql"),
    ("what are the coordinates of 10 Downing Street", "maps___geocode"),
    ("how do I get from the airport to the hotel by train", "maps___get_directions"),
    ("coffee shops open now near the office", "maps___search_places"),
    ("plan the best order to visit these 12 delivery addresses", "maps___optimize_route"),
    ("what time zone is Singapore in", "maps___get_timezone"),
    ("how did last week's newsletter do, open and click rates", "marketing___get_campaign_stats"),
    ("sign up bob@example.com to our newsletter list", "marketing___add_subscriber"),
    ("post our launch announcement on twitter and linkedin tomorrow at 9", "marketing___schedule_social_post"),
    ("find me a flight from CDG to JFK on June 3", "travel___search_flights"),
    ("need a hotel in Madrid for 3 nights under 150 a night", "travel___search_hotels"),
    ("is flight LH 1234 delayed today", "travel___get_flight_status"),
    ("how much can I spend on a hotel in London per company rules", "travel___get_travel_policy"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    tools = json.load(open(os.path.join(here, "tools.json")))
    names = {f"{t['target']}___{t['name']}" for t in tools["tools"]}
    missing = [e for _, e in Q if e not in names]
    if missing:
        raise SystemExit(f"unknown expected tools: {missing}")
    out = [{"query": q, "expected": e} for q, e in Q]
    with open(os.path.join(here, "queries.json"), "w") as f:
        json.dump({"queries": out}, f, indent=1)
        f.write("\n")
    print(f"{len(out)} queries")


if __name__ == "__main__":
    main()
