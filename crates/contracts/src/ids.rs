//! Ids that cross service boundaries, each its own type: a cart id cannot be
//! passed where an order id is meant (`CartClient::checkout` takes both).
//! On the wire and in storage they are plain UUIDs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The UUID, for storage and URLs.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A cart (a guest cart's id is random: it is the guest's capability).
    CartId;
    /// An order.
    OrderId;
    /// A product.
    ProductId;
    /// A variant of a product: what a cart line and an order line hold.
    VariantId;
    /// A customer's account.
    CustomerId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_uuid_on_the_wire() {
        let uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
        let json = serde_json::to_string(&OrderId(uuid)).unwrap();
        assert_eq!(json, format!("\"{uuid}\""));
        assert_eq!(
            serde_json::from_str::<OrderId>(&json).unwrap(),
            OrderId(uuid)
        );
        assert_eq!(CartId::from(uuid).to_string(), uuid.to_string());
    }
}
