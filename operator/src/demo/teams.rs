//! Three e-commerce teams' MCP servers. Cart and catalog both have a `get_item` tool:
//! the gateway's prefixes keep them apart.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use switchboard_gateway::jsonrpc::RpcError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TeamName {
    Cart,
    Catalog,
    Promotions,
}

struct Product {
    id: &'static str,
    name: &'static str,
    category: &'static str,
    price: f64,
    stock: u32,
}

const PRODUCTS: [Product; 5] = [
    Product {
        id: "sku-1001",
        name: "Trail running shoes",
        category: "footwear",
        price: 89.90,
        stock: 12,
    },
    Product {
        id: "sku-1002",
        name: "Merino wool socks",
        category: "apparel",
        price: 14.50,
        stock: 140,
    },
    Product {
        id: "sku-1003",
        name: "Insulated water bottle",
        category: "gear",
        price: 24.00,
        stock: 57,
    },
    Product {
        id: "sku-1004",
        name: "Headlamp 400 lm",
        category: "gear",
        price: 39.95,
        stock: 0,
    },
    Product {
        id: "sku-1005",
        name: "Rain shell jacket",
        category: "apparel",
        price: 129.00,
        stock: 8,
    },
];

struct Promotion {
    code: &'static str,
    description: &'static str,
    percent_off: f64,
    minimum_total: f64,
}

const PROMOTIONS: [Promotion; 3] = [
    Promotion {
        code: "WELCOME10",
        description: "10% off a first order",
        percent_off: 10.0,
        minimum_total: 0.0,
    },
    Promotion {
        code: "TRAIL25",
        description: "25% off orders over 100",
        percent_off: 25.0,
        minimum_total: 100.0,
    },
    Promotion {
        code: "SOCKS5",
        description: "5% off any order over 20",
        percent_off: 5.0,
        minimum_total: 20.0,
    },
];

pub struct Team {
    name: TeamName,
    /// The cart team's cart: item id → quantity.
    cart: Mutex<BTreeMap<String, u64>>,
}

fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": properties, "required": required},
    })
}

fn text_result(text: String, structured: Value) -> Result<Value, RpcError> {
    Ok(
        json!({"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": false}),
    )
}

fn tool_error(text: String) -> Result<Value, RpcError> {
    Ok(json!({"content": [{"type": "text", "text": text}], "isError": true}))
}

fn arg<'a>(arguments: &'a Value, key: &str) -> Result<&'a str, RpcError> {
    arguments
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params(format!("missing string argument {key:?}")))
}

fn product(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

fn product_json(p: &Product) -> Value {
    json!({"item_id": p.id, "name": p.name, "category": p.category, "price": p.price, "in_stock": p.stock})
}

impl Team {
    pub fn new(name: TeamName) -> Self {
        let cart = BTreeMap::from([("sku-1002".to_owned(), 2)]);
        Self {
            name,
            cart: Mutex::new(cart),
        }
    }

    pub fn server_name(&self) -> &'static str {
        match self.name {
            TeamName::Cart => "cart-service",
            TeamName::Catalog => "catalog-service",
            TeamName::Promotions => "promotions-service",
        }
    }

    pub fn title(&self) -> &'static str {
        match self.name {
            TeamName::Cart => "Shopping cart (cart team)",
            TeamName::Catalog => "Product catalog (catalog team)",
            TeamName::Promotions => "Promotions and coupons (promotions team)",
        }
    }

    pub fn instructions(&self) -> &'static str {
        match self.name {
            TeamName::Cart => "Manage the shopper's cart. Item ids look like sku-1001.",
            TeamName::Catalog => "Look up products, prices and stock. Item ids look like sku-1001.",
            TeamName::Promotions => "List promotions and price a cart total with a coupon code.",
        }
    }

    pub fn tools(&self) -> Vec<Value> {
        let item = json!({"item_id": {"type": "string", "description": "Item id, e.g. sku-1001"}});
        match self.name {
            TeamName::Cart => vec![
                tool(
                    "get_item",
                    "Get one line of the shopper's cart: the item and its quantity.",
                    item.clone(),
                    &["item_id"],
                ),
                tool(
                    "add_item",
                    "Add an item to the cart (or increase its quantity).",
                    json!({
                        "item_id": {"type": "string", "description": "Item id, e.g. sku-1001"},
                        "quantity": {"type": "integer", "minimum": 1, "default": 1, "description": "How many to add"}
                    }),
                    &["item_id"],
                ),
                tool(
                    "remove_item",
                    "Remove an item from the cart.",
                    item,
                    &["item_id"],
                ),
                tool("list_items", "List every line in the cart.", json!({}), &[]),
            ],
            TeamName::Catalog => vec![
                tool(
                    "get_item",
                    "Get a product's details: name, category, price and stock.",
                    item,
                    &["item_id"],
                ),
                tool(
                    "search_products",
                    "Search products by words in their name or category.",
                    json!({
                        "query": {"type": "string", "description": "Words to look for"},
                        "max_results": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
                    }),
                    &["query"],
                ),
            ],
            TeamName::Promotions => vec![
                tool(
                    "list_promotions",
                    "List the active promotions and their coupon codes.",
                    json!({}),
                    &[],
                ),
                tool(
                    "apply_coupon",
                    "Price a cart total with a coupon code.",
                    json!({
                        "code": {"type": "string", "description": "Coupon code, e.g. WELCOME10"},
                        "cart_total": {"type": "number", "minimum": 0, "description": "Cart total before discount"}
                    }),
                    &["code", "cart_total"],
                ),
            ],
        }
    }

    pub fn call(&self, tool_name: &str, arguments: &Value) -> Result<Value, RpcError> {
        match (self.name, tool_name) {
            (TeamName::Cart, "get_item") => {
                let id = arg(arguments, "item_id")?;
                let quantity = self.cart.lock().map(|c| c.get(id).copied()).unwrap_or(None);
                match quantity {
                    Some(quantity) => text_result(
                        format!("cart: {quantity} x {id}"),
                        json!({"item_id": id, "quantity": quantity}),
                    ),
                    None => tool_error(format!("cart: {id} is not in the cart")),
                }
            }
            (TeamName::Cart, "add_item") => {
                let id = arg(arguments, "item_id")?;
                let add = arguments
                    .get("quantity")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                if product(id).is_none() {
                    return tool_error(format!("cart: unknown item {id}"));
                }
                let quantity = self.cart.lock().map(|mut c| {
                    let line = c.entry(id.to_owned()).or_insert(0);
                    *line += add;
                    *line
                });
                let quantity = quantity.unwrap_or(add);
                text_result(
                    format!("cart: {quantity} x {id}"),
                    json!({"item_id": id, "quantity": quantity}),
                )
            }
            (TeamName::Cart, "remove_item") => {
                let id = arg(arguments, "item_id")?;
                let removed = self
                    .cart
                    .lock()
                    .map(|mut c| c.remove(id).is_some())
                    .unwrap_or(false);
                if removed {
                    text_result(
                        format!("cart: removed {id}"),
                        json!({"item_id": id, "removed": true}),
                    )
                } else {
                    tool_error(format!("cart: {id} is not in the cart"))
                }
            }
            (TeamName::Cart, "list_items") => {
                let lines: Vec<Value> = self
                    .cart
                    .lock()
                    .map(|c| {
                        c.iter()
                            .map(|(id, q)| json!({"item_id": id, "quantity": q}))
                            .collect()
                    })
                    .unwrap_or_default();
                text_result(
                    format!("cart: {} lines", lines.len()),
                    json!({"items": lines}),
                )
            }
            (TeamName::Catalog, "get_item") => {
                let id = arg(arguments, "item_id")?;
                match product(id) {
                    Some(p) => text_result(
                        format!(
                            "catalog: {} ({}) costs {:.2}, {} in stock",
                            p.name, p.id, p.price, p.stock
                        ),
                        product_json(p),
                    ),
                    None => tool_error(format!("catalog: no product {id}")),
                }
            }
            (TeamName::Catalog, "search_products") => {
                let query = arg(arguments, "query")?.to_lowercase();
                let limit = arguments
                    .get("max_results")
                    .and_then(Value::as_u64)
                    .unwrap_or(10) as usize;
                let hits: Vec<Value> = PRODUCTS
                    .iter()
                    .filter(|p| {
                        query
                            .split_whitespace()
                            .any(|w| p.name.to_lowercase().contains(w) || p.category.contains(w))
                    })
                    .take(limit)
                    .map(product_json)
                    .collect();
                text_result(
                    format!("catalog: {} products match", hits.len()),
                    json!({"products": hits}),
                )
            }
            (TeamName::Promotions, "list_promotions") => {
                let list: Vec<Value> = PROMOTIONS
                    .iter()
                    .map(|p| json!({"code": p.code, "description": p.description}))
                    .collect();
                text_result(
                    format!("promotions: {} active", list.len()),
                    json!({"promotions": list}),
                )
            }
            (TeamName::Promotions, "apply_coupon") => {
                let code = arg(arguments, "code")?.to_uppercase();
                let total = arguments
                    .get("cart_total")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| {
                        RpcError::invalid_params("missing number argument \"cart_total\"")
                    })?;
                let Some(promotion) = PROMOTIONS.iter().find(|p| p.code == code) else {
                    return tool_error(format!("promotions: unknown coupon {code}"));
                };
                if total < promotion.minimum_total {
                    return tool_error(format!(
                        "promotions: {code} needs a total of at least {:.2}",
                        promotion.minimum_total
                    ));
                }
                let discounted = (total * (100.0 - promotion.percent_off)).round() / 100.0;
                text_result(
                    format!("promotions: {code} brings {total:.2} down to {discounted:.2}"),
                    json!({"code": code, "total": total, "discounted_total": discounted}),
                )
            }
            (_, other) => Err(RpcError::invalid_params(format!("Unknown tool: {other}"))),
        }
    }

    pub fn resources(&self) -> Vec<Value> {
        match self.name {
            TeamName::Cart => vec![
                json!({"uri": "cart://current", "name": "current-cart", "mimeType": "application/json", "description": "The shopper's cart"}),
            ],
            TeamName::Catalog => vec![
                json!({"uri": "catalog://products", "name": "products", "mimeType": "application/json", "description": "Every product"}),
            ],
            TeamName::Promotions => vec![],
        }
    }

    pub fn resource_templates(&self) -> Vec<Value> {
        match self.name {
            TeamName::Catalog => vec![
                json!({"uriTemplate": "catalog://products/{item_id}", "name": "product", "mimeType": "application/json"}),
            ],
            _ => vec![],
        }
    }

    pub fn read(&self, uri: &str) -> Result<Value, RpcError> {
        let contents = |text: String| {
            Ok(json!({"contents": [{"uri": uri, "mimeType": "application/json", "text": text}]}))
        };
        match (self.name, uri) {
            (TeamName::Cart, "cart://current") => {
                let cart = self.cart.lock().map(|c| json!(*c)).unwrap_or_default();
                contents(cart.to_string())
            }
            (TeamName::Catalog, "catalog://products") => {
                contents(Value::Array(PRODUCTS.iter().map(product_json).collect()).to_string())
            }
            (TeamName::Catalog, _) if uri.starts_with("catalog://products/") => {
                match product(&uri["catalog://products/".len()..]) {
                    Some(p) => contents(product_json(p).to_string()),
                    None => Err(RpcError::new(-32002, format!("Resource not found: {uri}"))),
                }
            }
            _ => Err(RpcError::new(-32002, format!("Resource not found: {uri}"))),
        }
    }

    pub fn prompts(&self) -> Vec<Value> {
        match self.name {
            TeamName::Catalog => vec![
                json!({"name": "describe_product", "description": "Write a short product description", "arguments": [{"name": "item_id", "required": true}]}),
            ],
            TeamName::Promotions => vec![
                json!({"name": "announce_promotion", "description": "Write a promotion announcement", "arguments": [{"name": "code", "required": true}]}),
            ],
            TeamName::Cart => vec![],
        }
    }

    pub fn prompt(&self, name: &str, arguments: &Value) -> Result<Value, RpcError> {
        let text = match (self.name, name) {
            (TeamName::Catalog, "describe_product") => {
                let id = arg(arguments, "item_id")?;
                let p = product(id)
                    .ok_or_else(|| RpcError::invalid_params(format!("no product {id}")))?;
                format!(
                    "Write a two-sentence description of {} ({}), priced {:.2}.",
                    p.name, p.category, p.price
                )
            }
            (TeamName::Promotions, "announce_promotion") => {
                let code = arg(arguments, "code")?;
                format!("Write a cheerful one-line announcement for coupon {code}.")
            }
            _ => return Err(RpcError::invalid_params(format!("Unknown prompt: {name}"))),
        };
        Ok(json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}]}))
    }
}
