# Tool definitions, part 3: productivity and data (calendar, email, chat, storage,
# docs, analytics, maps, marketing, travel). See generate.py.
from dsl import T

TOOLS = []
add = TOOLS.append

# ---------------------------------------------------------------- calendar
EVT = "event_id:string!:Identifier of the calendar event"
add(T("calendar", "list_events", "List calendar events between two times, for one or more calendars.", ["calendar_id:string:Calendar, primary if omitted", "time_min:string!:Start of the window", "time_max:string!:End of the window"]))
add(T("calendar", "get_event", "Get a calendar event with attendees, location, conferencing link and description.", [EVT]))
add(T("calendar", "create_event", "Schedule a meeting or appointment and invite attendees.", ["title:string!:Event title", "start:string!:Start time", "end:string!:End time", "attendees:array:Attendee emails", "location:string:Place or room", "add_video_call:boolean:Attach a video conference link"]))
add(T("calendar", "update_event", "Change the time, title, attendees or location of a calendar event.", [EVT, "changes:object!:Fields to change"]))
add(T("calendar", "delete_event", "Cancel a calendar event and notify attendees.", [EVT, "notify:boolean:Send cancellation emails"]))
add(T("calendar", "respond_to_invitation", "Accept, decline or tentatively accept a meeting invitation.", [EVT, "response:string!:accepted, declined or tentative"]))
add(T("calendar", "find_free_time", "Find time slots when all the given people are free.", ["attendees:array!:People who must attend", "duration_minutes:integer!:Meeting length", "within_days:integer:Search horizon"]))
add(T("calendar", "find_meeting_room", "Find an available meeting room for a time slot and capacity.", ["start:string!:Start time", "end:string!:End time", "capacity:integer:Number of seats", "building:string:Office building"]))
add(T("calendar", "list_calendars", "List the calendars the user can see, including shared and resource calendars.", []))
add(T("calendar", "share_calendar", "Share a calendar with someone at a given access level.", ["calendar_id:string!:Calendar", "email:string!:Person to share with", "role:string:free_busy, reader or writer"]))
add(T("calendar", "set_out_of_office", "Block time as out of office and auto-decline meetings.", ["start:string!:Start", "end:string!:End", "message:string:Decline message"]))
add(T("calendar", "get_free_busy", "Get busy intervals of people or rooms without event details.", ["emails:array!:People or rooms", "time_min:string!:Start", "time_max:string!:End"]))
add(T("calendar", "create_recurring_event", "Create a repeating event such as a weekly one-on-one.", ["title:string!:Title", "start:string!:First occurrence start", "duration_minutes:integer!:Length", "rrule:string!:Recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO", "attendees:array:Attendees"]))

# ---------------------------------------------------------------- email
MSG = "message_id:string!:Identifier of the email message"
add(T("email", "send_message", "Send an email to recipients with subject, body and optional attachments.", ["to:array!:Recipient addresses", "cc:array:Carbon copy", "subject:string!:Subject line", "body:string!:Message body", "attachments:array:Files to attach"]))
add(T("email", "search_messages", "Search the mailbox with a query (sender, subject words, dates, has:attachment).", ["query:string!:Mailbox search query", "max_results:integer:Maximum messages"]))
add(T("email", "get_message", "Read an email message with headers, body and attachment list.", [MSG]))
add(T("email", "reply_to_message", "Reply (or reply-all) to an email thread.", [MSG, "body:string!:Reply text", "reply_all:boolean:Reply to everyone"]))
add(T("email", "forward_message", "Forward an email to other recipients.", [MSG, "to:array!:Recipients", "note:string:Text added above the forwarded message"]))
add(T("email", "create_draft", "Save an email as a draft without sending it.", ["to:array:Recipients", "subject:string:Subject", "body:string:Body"]))
add(T("email", "list_unread", "List unread messages in the inbox, newest first.", ["max_results:integer:Maximum messages"]))
add(T("email", "mark_as_read", "Mark email messages as read or unread.", ["message_ids:array!:Messages", "read:boolean!:true for read, false for unread"]))
add(T("email", "move_to_folder", "Move email messages to a folder or label, e.g. archive or spam.", ["message_ids:array!:Messages", "folder:string!:Destination folder or label"]))
add(T("email", "delete_message", "Move an email to the trash.", [MSG]))
add(T("email", "search_contacts", "Search the address book for email addresses by name.", ["query:string!:Name or partial address"]))
add(T("email", "get_attachment", "Download an attachment from an email message.", [MSG, "attachment_id:string!:Attachment"]))
add(T("email", "create_filter", "Create a mailbox rule that labels, forwards or archives matching incoming mail.", ["from:string:Sender to match", "subject_contains:string:Subject words", "action:string!:label, forward, archive or delete", "label:string:Label to apply"]))
add(T("email", "set_auto_reply", "Turn on a vacation auto-responder with a message and date range.", ["message:string!:Auto-reply text", "start:string!:Start date", "end:string:End date"]))
add(T("email", "list_threads", "List conversation threads in a folder or label.", ["folder:string:Folder or label, inbox by default"]))

# ---------------------------------------------------------------- chat
CH = "channel:string!:Channel name or id"
add(T("chat", "send_message", "Post a message to a chat channel or as a direct message.", [CH, "text:string!:Message text", "thread_ts:string:Reply inside this thread"]))
add(T("chat", "list_channels", "List chat channels the user can join.", ["include_archived:boolean:Include archived channels"]))
add(T("chat", "create_channel", "Create a public or private chat channel.", ["name:string!:Channel name", "private:boolean:Private channel"]))
add(T("chat", "invite_to_channel", "Add users to a chat channel.", [CH, "users:array!:Users to add"]))
add(T("chat", "get_channel_history", "Read recent messages of a chat channel.", [CH, "limit:integer:Number of messages", "oldest:string:Only messages after this time"]))
add(T("chat", "search_messages", "Search chat messages across channels by text, author or date.", ["query:string!:Search text", "from_user:string:Author", "in_channel:string:Channel"]))
add(T("chat", "add_reaction", "React to a chat message with an emoji.", [CH, "timestamp:string!:Message timestamp", "emoji:string!:Emoji name"]))
add(T("chat", "set_status", "Set the user's chat status text, emoji and expiry.", ["text:string!:Status text", "emoji:string:Emoji", "expires_in_minutes:integer:Clear after"]))
add(T("chat", "pin_message", "Pin a message to the top of a channel.", [CH, "timestamp:string!:Message timestamp"]))
add(T("chat", "schedule_message", "Schedule a chat message to be posted later.", [CH, "text:string!:Message", "post_at:string!:When to post"]))
add(T("chat", "get_user_presence", "Check whether a user is online, away or in do-not-disturb.", ["user:string!:User"]))
add(T("chat", "archive_channel", "Archive a chat channel that is no longer used.", [CH]))
add(T("chat", "upload_file", "Share a file in a chat channel.", [CH, "file_url:string!:File to share", "comment:string:Message with the file"]))

# ---------------------------------------------------------------- storage
PATH = "path:string!:Path of the file or folder"
add(T("storage", "list_files", "List files and folders in a directory of the file store.", ["folder:string:Folder path, root if omitted", "recursive:boolean:Include subfolders"]))
add(T("storage", "search_files", "Search stored files by name, type, owner or contents.", ["query:string!:Name or content words", "mime_type:string:File type", "owner:string:Owner"]))
add(T("storage", "get_file_metadata", "Get a file's size, type, owner, created and modified times and version.", [PATH]))
add(T("storage", "download_file", "Get a temporary download URL for a stored file.", [PATH, "expires_minutes:integer:Link lifetime"]))
add(T("storage", "upload_file", "Upload a file to the file store from a URL or base64 content.", [PATH, "content_base64:string:File content", "source_url:string:Fetch content from this URL"]))
add(T("storage", "delete_file", "Delete a file or folder (moves it to the recycle bin).", [PATH]))
add(T("storage", "move_file", "Move or rename a file or folder.", ["from_path:string!:Current path", "to_path:string!:New path"]))
add(T("storage", "copy_file", "Copy a file to another folder.", ["from_path:string!:Source", "to_path:string!:Destination"]))
add(T("storage", "create_folder", "Create a new folder.", [PATH]))
add(T("storage", "share_file", "Share a file or folder with people or create a public link.", [PATH, "emails:array:People to share with", "role:string:viewer, commenter or editor", "public_link:boolean:Create an anyone-with-the-link URL"]))
add(T("storage", "list_file_versions", "List previous versions of a file.", [PATH]))
add(T("storage", "restore_file_version", "Restore an older version of a file.", [PATH, "version_id:string!:Version to restore"]))
add(T("storage", "restore_deleted_file", "Recover a file from the recycle bin.", [PATH]))
add(T("storage", "get_storage_usage", "Report used and available storage quota.", []))
add(T("storage", "list_buckets", "List object storage buckets with region and size.", []))
add(T("storage", "set_bucket_lifecycle", "Set lifecycle rules that expire or archive objects after a number of days.", ["bucket:string!:Bucket", "expire_after_days:integer:Delete objects older than this", "archive_after_days:integer:Move to cold storage after this"]))

# ---------------------------------------------------------------- docs (wiki)
PAGE = "page_id:string!:Wiki page"
add(T("docs", "search_pages", "Search wiki pages and documents by title and content.", ["query:string!:Search words", "space:string:Wiki space"]))
add(T("docs", "get_page", "Read a wiki page's content and metadata.", [PAGE]))
add(T("docs", "create_page", "Create a wiki page in a space, optionally under a parent page.", ["space:string!:Wiki space", "title:string!:Title", "content:string!:Body in Markdown", "parent_id:string:Parent page"]))
add(T("docs", "update_page", "Edit the content of a wiki page.", [PAGE, "content:string!:New body"]))
add(T("docs", "add_page_comment", "Comment on a wiki page.", [PAGE, "text:string!:Comment"]))
add(T("docs", "list_spaces", "List wiki spaces.", []))
add(T("docs", "get_page_history", "List edits of a wiki page with authors.", [PAGE]))
add(T("docs", "export_page_pdf", "Export a wiki page as PDF.", [PAGE]))
add(T("docs", "list_recent_changes", "List recently edited pages in a space.", ["space:string:Wiki space", "days:integer:Look-back window"]))

# ---------------------------------------------------------------- analytics
add(T("analytics", "run_report", "Run a report of metrics by dimensions (e.g. sessions by country) for a date range.", ["metrics:array!:Metrics such as sessions, conversions, revenue", "dimensions:array:Breakdowns such as country, device, channel", "start_date:string!:Start", "end_date:string!:End"]))
add(T("analytics", "get_realtime_visitors", "Number of active users on the site or app right now, by page.", []))
add(T("analytics", "list_events", "List tracked analytics events (clicks, signups, purchases) and their counts.", ["since:string:Start date", "event_name:string:Only this event"]))
add(T("analytics", "track_event", "Record a custom analytics event for a user.", ["name:string!:Event name", "user_id:string:User", "properties:object:Event properties"]))
add(T("analytics", "get_funnel", "Compute conversion rates between the steps of a funnel.", ["steps:array!:Ordered event names", "start_date:string!:Start", "end_date:string!:End"]))
add(T("analytics", "get_retention", "Cohort retention: share of users who come back N days after signup.", ["cohort_start:string!:First cohort date", "periods:integer:Number of periods"]))
add(T("analytics", "get_top_pages", "Most viewed pages with views, time on page and bounce rate.", ["start_date:string!:Start", "end_date:string!:End", "limit:integer:How many pages"]))
add(T("analytics", "get_traffic_sources", "Break down visits by source: search, social, referral, direct, campaigns.", ["start_date:string!:Start", "end_date:string!:End"]))
add(T("analytics", "create_dashboard", "Create an analytics dashboard with charts.", ["name:string!:Dashboard name", "charts:array:Chart definitions"]))
add(T("analytics", "run_sql", "Run a read-only SQL query against the data warehouse.", ["sql:string!:SELECT statement", "max_rows:integer:Row limit"]))
add(T("analytics", "list_tables", "List warehouse tables and their columns.", ["schema:string:Schema name"]))
add(T("analytics", "get_ab_test_results", "Results of an A/B experiment: conversion per variant and statistical significance.", ["experiment_id:string!:Experiment"]))
add(T("analytics", "export_report_csv", "Export report results as a CSV file.", ["report_id:string!:Saved report"]))
add(T("analytics", "get_user_journey", "Timeline of one user's sessions and events.", ["user_id:string!:User"]))

# ---------------------------------------------------------------- maps
add(T("maps", "geocode", "Convert a street address into latitude and longitude.", ["address:string!:Address to look up"]))
add(T("maps", "reverse_geocode", "Convert latitude and longitude into the nearest street address.", ["lat:number!:Latitude", "lng:number!:Longitude"]))
add(T("maps", "get_directions", "Route between two places by car, transit, bike or on foot, with steps and duration.", ["origin:string!:Start address or coordinates", "destination:string!:End address or coordinates", "mode:string:driving, transit, bicycling or walking"]))
add(T("maps", "search_places", "Find places (restaurants, shops, points of interest) near a location.", ["query:string!:What to look for", "near:string!:Address or coordinates", "radius_m:integer:Search radius in metres", "open_now:boolean:Only places open now"]))
add(T("maps", "get_place_details", "Opening hours, phone, rating and reviews of a place.", ["place_id:string!:Place"]))
add(T("maps", "distance_matrix", "Travel times and distances between many origins and destinations.", ["origins:array!:Start points", "destinations:array!:End points", "mode:string:Travel mode"]))
add(T("maps", "get_timezone", "Time zone and UTC offset at a location.", ["lat:number!:Latitude", "lng:number!:Longitude"]))
add(T("maps", "optimize_route", "Order delivery stops for the shortest route.", ["depot:string!:Start and end point", "stops:array!:Addresses to visit"]))
add(T("maps", "get_traffic", "Current traffic conditions and incidents on a road or area.", ["area:string!:Road, city or bounding box"]))
add(T("maps", "validate_address", "Check and standardize a postal address.", ["address:string!:Address", "country:string:Country code"]))
add(T("maps", "get_static_map", "Render a map image centred on a location with markers.", ["center:string!:Address or coordinates", "zoom:integer:Zoom level", "markers:array:Marker locations"]))

# ---------------------------------------------------------------- marketing
add(T("marketing", "create_campaign", "Create an email marketing campaign to a subscriber list.", ["name:string!:Campaign name", "list_id:string!:Audience list", "subject:string!:Email subject", "html:string!:Email content"]))
add(T("marketing", "send_campaign", "Send or schedule a marketing campaign.", ["campaign_id:string!:Campaign", "send_at:string:Schedule time, now if omitted"]))
add(T("marketing", "get_campaign_stats", "Open, click, bounce and unsubscribe rates of a campaign.", ["campaign_id:string!:Campaign"]))
add(T("marketing", "add_subscriber", "Subscribe an email address to a mailing list.", ["list_id:string!:List", "email:string!:Subscriber email", "merge_fields:object:First name and other fields"]))
add(T("marketing", "unsubscribe", "Unsubscribe an email address from a mailing list.", ["list_id:string!:List", "email:string!:Email address"]))
add(T("marketing", "list_audiences", "List mailing lists and segments with subscriber counts.", []))
add(T("marketing", "create_segment", "Create an audience segment from conditions such as location or purchase history.", ["list_id:string!:List", "conditions:array!:Segment rules"]))
add(T("marketing", "schedule_social_post", "Schedule a post on social media accounts.", ["accounts:array!:Social accounts", "text:string!:Post text", "publish_at:string!:When to publish", "image_url:string:Image"]))
add(T("marketing", "get_social_mentions", "Find recent social media posts mentioning the brand.", ["query:string!:Brand or keywords", "since:string:Start date"]))

# ---------------------------------------------------------------- travel
add(T("travel", "search_flights", "Search flights between airports on given dates with prices.", ["from_airport:string!:Departure airport code", "to_airport:string!:Arrival airport code", "depart_date:string!:Departure date", "return_date:string:Return date", "cabin:string:economy, business or first"]))
add(T("travel", "book_flight", "Book a flight offer for a traveller.", ["offer_id:string!:Flight offer", "traveller_id:string!:Traveller profile"]))
add(T("travel", "search_hotels", "Find hotels in a city for given dates within a budget.", ["city:string!:City", "check_in:string!:Check-in date", "check_out:string!:Check-out date", "max_price:number:Maximum nightly rate"]))
add(T("travel", "book_hotel", "Reserve a hotel room.", ["hotel_offer_id:string!:Room offer", "traveller_id:string!:Guest"]))
add(T("travel", "get_trip_itinerary", "Get all flights, hotels and cars booked for a trip.", ["trip_id:string!:Trip"]))
add(T("travel", "cancel_booking", "Cancel a flight, hotel or car booking.", ["booking_id:string!:Booking"]))
add(T("travel", "get_travel_policy", "Company travel policy limits for a destination and employee grade.", ["destination:string!:City or country", "grade:string:Employee grade"]))
add(T("travel", "get_flight_status", "Real-time status of a flight: delays, gate and terminal.", ["flight_number:string!:Flight number", "date:string!:Departure date"]))
add(T("travel", "rent_car", "Book a rental car at a location for dates.", ["pickup_location:string!:Pickup", "pickup_date:string!:Start", "return_date:string!:End", "car_class:string:Car category"]))
