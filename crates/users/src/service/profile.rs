//! A customer's own profile, password and address book.

use super::*;

impl UsersService {
    /// The caller's own account; 401 if it was disabled or removed since
    /// the token was issued.
    pub async fn me(&self, id: Uuid) -> Result<Account> {
        store::accounts::find(self.db.pool(), id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(UsersError::AccountUnavailable)
    }

    /// Updates name and phone (`Some(None)` clears the phone).
    pub async fn update_profile(
        &self,
        id: Uuid,
        name: Option<&str>,
        phone: Option<Option<&str>>,
    ) -> Result<Account> {
        let mut tx = self.db.begin_write().await?;
        let mut account = store::accounts::lock(&mut tx, id)
            .await?
            .ok_or(UsersError::NotFound("user"))?;
        let mut errors = Vec::new();
        if let Some(name) = name {
            match Name::parse(name) {
                Ok(name) => account.name = name.as_str().to_owned(),
                Err(e) => errors.push(FieldError::new("name", e)),
            }
        }
        match phone {
            Some(Some(phone)) => match Phone::parse(phone) {
                Ok(phone) => account.phone = Some(phone.as_str().to_owned()),
                Err(e) => errors.push(FieldError::new("phone", e)),
            },
            Some(None) => account.phone = None,
            None => {}
        }
        if !errors.is_empty() {
            return Err(UsersError::Validation(errors));
        }
        account.updated_at = now_millis();
        store::accounts::update_profile(&mut *tx, &account).await?;
        let event = UserProfileUpdated {
            user_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            phone: account.phone.clone(),
        };
        self.emit(&mut tx, account.id, &event).await?;
        self.outbox.commit(tx).await?;
        Ok(account)
    }

    /// Changes the password and ends every other session.
    pub async fn change_password(&self, caller: &AuthUser, current: &str, new: &str) -> Result<()> {
        let account = self.me(caller.id).await?;
        if !self
            .verify_password(current, &account.password_hash)
            .await?
        {
            return Err(UsersError::WrongPassword);
        }
        Self::check_password(new, "new_password", &[&account.email, &account.name])?;
        let hash = self.hash_password(new).await?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        store::accounts::set_password(&mut *tx, account.id, &hash, now).await?;
        store::tokens::revoke_account(&mut *tx, account.id, caller.session, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's address book.
    pub async fn addresses(&self, caller: &AuthUser) -> Result<Vec<StoredAddress>> {
        Ok(store::addresses::list(self.db.pool(), caller.id).await?)
    }

    /// Adds an address.
    pub async fn add_address(
        &self,
        caller: &AuthUser,
        input: &AddressInput<'_>,
    ) -> Result<StoredAddress> {
        let address = Address::parse(input).map_err(UsersError::Validation)?;
        let now = now_millis();
        let stored = StoredAddress {
            id: Uuid::now_v7(),
            account_id: caller.id,
            address,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        // The account's lock makes the count and the insert one step for
        // concurrent additions.
        if store::accounts::lock(&mut tx, caller.id).await?.is_none() {
            return Err(UsersError::NotFound("user"));
        }
        if store::addresses::count(&mut *tx, caller.id).await? >= MAX_ADDRESSES {
            // Full is a state of the book, not a fault of this address.
            return Err(UsersError::AddressBookFull);
        }
        store::addresses::insert(&mut *tx, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Changes some fields of an address.
    pub async fn update_address(
        &self,
        caller: &AuthUser,
        id: Uuid,
        patch: &AddressPatch,
    ) -> Result<StoredAddress> {
        let mut tx = self.db.begin_write().await?;
        let mut stored = store::addresses::lock(&mut tx, caller.id, id)
            .await?
            .ok_or(UsersError::NotFound("address"))?;
        stored.address = stored
            .address
            .patched(patch)
            .map_err(UsersError::Validation)?;
        stored.updated_at = now_millis();
        store::addresses::update(&mut *tx, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Removes an address.
    pub async fn delete_address(&self, caller: &AuthUser, id: Uuid) -> Result<()> {
        if store::addresses::delete(self.db.pool(), caller.id, id).await? {
            Ok(())
        } else {
            Err(UsersError::NotFound("address"))
        }
    }
}
