// One schema for both backends: only portable column types (Text, BigInt, Integer, Bool).
// Kept by hand in step with migrations/{sqlite,postgres}; the migration round-trip test
// exercises both.

diesel::table! {
    admins (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    suppliers (id) {
        id -> Text,
        name -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret_enc -> Text,
        status -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    levels (name) {
        name -> Text,
        discount_bps -> Integer,
    }
}

diesel::table! {
    resellers (id) {
        id -> Text,
        name -> Text,
        level -> Text,
        parent_id -> Nullable<Text>,
        notify_url -> Nullable<Text>,
        webhook_secret_enc -> Text,
        kyc_status -> Text,
        status -> Text,
        currency -> Text,
        balance -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (key_id) {
        key_id -> Text,
        owner_kind -> Text,
        owner_id -> Text,
        name -> Text,
        secret_enc -> Text,
        scopes -> Text,
        daily_spend_limit -> Nullable<BigInt>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        sandbox -> Bool,
    }
}

diesel::table! {
    request_nonces (key_id, nonce) {
        key_id -> Text,
        nonce -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    categories (id) {
        id -> Text,
        name -> Text,
        licence_required -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        sku -> Text,
        name -> Text,
        category_id -> Text,
        supplier_id -> Text,
        description -> Text,
        instructions -> Text,
        region -> Nullable<Text>,
        face_value -> BigInt,
        cost -> BigInt,
        price -> BigInt,
        currency -> Text,
        delivery -> Text,
        status -> Text,
        min_quantity -> BigInt,
        max_quantity -> BigInt,
        topup_fields -> Text,
        stock -> BigInt,
        low_stock_threshold -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        cover_units -> Nullable<BigInt>,
        stock_low_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    reseller_prices (reseller_id, product_id) {
        reseller_id -> Text,
        product_id -> Text,
        price -> BigInt,
    }
}

diesel::table! {
    cards (id) {
        id -> BigInt,
        product_id -> Text,
        supplier_id -> Text,
        code_hash -> Text,
        code_enc -> Text,
        secret_enc -> Nullable<Text>,
        expires_at -> Nullable<BigInt>,
        batch_ref -> Nullable<Text>,
        status -> Text,
        order_id -> Nullable<Text>,
        created_at -> BigInt,
        sold_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        reseller_id -> Text,
        key_id -> Text,
        out_trade_no -> Text,
        product_id -> Text,
        supplier_id -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        amount -> BigInt,
        cost_amount -> BigInt,
        currency -> Text,
        status -> Text,
        request_hash -> Text,
        notify_url -> Nullable<Text>,
        topup -> Nullable<Text>,
        buyer_id -> Nullable<Text>,
        buyer_region -> Nullable<Text>,
        receipt -> Text,
        ledger_seq -> BigInt,
        created_at -> BigInt,
        completed_at -> Nullable<BigInt>,
        deadline_at -> Nullable<BigInt>,
        result_message -> Nullable<Text>,
        key_capped -> Bool,
    }
}

diesel::table! {
    chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_chain (seq) {
        seq -> BigInt,
        kind -> Text,
        actor -> Text,
        action -> Text,
        subject -> Text,
        detail -> Text,
        created_at -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        pos -> Nullable<BigInt>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        txn_seq -> BigInt,
        account -> Text,
        amount -> BigInt,
        currency -> Text,
        balance_after -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        event_type -> Text,
        owner_kind -> Text,
        owner_id -> Text,
        url -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    event_attempts (id) {
        id -> BigInt,
        event_id -> Text,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        private_enc -> Text,
        public_key -> Text,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    kyc_submissions (reseller_id) {
        reseller_id -> Text,
        legal_name_enc -> Text,
        id_number_enc -> Text,
        contact_enc -> Text,
        submitted_at -> BigInt,
        reviewed_at -> Nullable<BigInt>,
        reviewed_by -> Nullable<Text>,
    }
}

diesel::table! {
    licences (id) {
        id -> Text,
        supplier_id -> Text,
        product_id -> Nullable<Text>,
        reference -> Text,
        issuer -> Text,
        expires_at -> BigInt,
        status -> Text,
        created_at -> BigInt,
        reviewed_at -> Nullable<BigInt>,
        reviewed_by -> Nullable<Text>,
    }
}

diesel::table! {
    licence_holds (product_id) {
        product_id -> Text,
        held_at -> BigInt,
    }
}

diesel::table! {
    network_markups (reseller_id) {
        reseller_id -> Text,
        default_bps -> Integer,
        updated_at -> BigInt,
    }
}

diesel::table! {
    network_product_markups (reseller_id, product_id) {
        reseller_id -> Text,
        product_id -> Text,
        markup_bps -> Integer,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        order_id -> Text,
        reseller_id -> Text,
        supplier_id -> Text,
        product_id -> Text,
        card_id -> Nullable<BigInt>,
        units -> BigInt,
        reason -> Text,
        message -> Nullable<Text>,
        status -> Text,
        resolution -> Nullable<Text>,
        response_message -> Nullable<Text>,
        memo -> Nullable<Text>,
        refund_amount -> Nullable<BigInt>,
        sla_due_at -> BigInt,
        created_at -> BigInt,
        resolved_at -> Nullable<BigInt>,
        resolved_by -> Nullable<Text>,
    }
}

diesel::table! {
    sales_daily (reseller_id, day, product_id, region) {
        reseller_id -> Text,
        day -> BigInt,
        product_id -> Text,
        region -> Text,
        currency -> Text,
        order_count -> BigInt,
        units -> BigInt,
        amount -> BigInt,
        cost -> BigInt,
        refunded_count -> BigInt,
        refunded_units -> BigInt,
        refunded_amount -> BigInt,
        refunded_cost -> BigInt,
    }
}

diesel::table! {
    duplicate_flags (id) {
        id -> BigInt,
        supplier_id -> Text,
        product_id -> Text,
        code_hash -> Text,
        holder_product_id -> Text,
        holder_supplier_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sales_rollup (dim, period, day, dim_key, currency) {
        dim -> Text,
        period -> Text,
        day -> BigInt,
        dim_key -> Text,
        currency -> Text,
        order_count -> BigInt,
        units -> BigInt,
        amount -> BigInt,
        cost -> BigInt,
        refunded_count -> BigInt,
        refunded_units -> BigInt,
        refunded_amount -> BigInt,
        refunded_cost -> BigInt,
    }
}

diesel::table! {
    pending_sales (id) {
        id -> BigInt,
        sale_at -> BigInt,
        reseller_id -> Text,
        product_id -> Text,
        region -> Text,
        currency -> Text,
        order_count -> BigInt,
        units -> BigInt,
        amount -> BigInt,
        cost -> BigInt,
        refunded_count -> BigInt,
        refunded_units -> BigInt,
        refunded_amount -> BigInt,
        refunded_cost -> BigInt,
        stock_delta -> BigInt,
    }
}

diesel::table! {
    sandbox_accounts (reseller_id) {
        reseller_id -> Text,
        balance -> BigInt,
        reset_at -> BigInt,
    }
}

diesel::table! {
    sandbox_orders (id) {
        id -> Text,
        reseller_id -> Text,
        key_id -> Text,
        out_trade_no -> Text,
        product_id -> Text,
        sku -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        request_hash -> Text,
        notify_url -> Nullable<Text>,
        topup -> Nullable<Text>,
        cards -> Nullable<Text>,
        receipt -> Text,
        created_at -> BigInt,
        completed_at -> Nullable<BigInt>,
        deadline_at -> Nullable<BigInt>,
        result_message -> Nullable<Text>,
    }
}

diesel::table! {
    sandbox_attempts (reseller_id, out_trade_no) {
        reseller_id -> Text,
        out_trade_no -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    claims (id) {
        id -> Text,
        order_id -> Text,
        reseller_id -> Text,
        product_id -> Text,
        card_id -> BigInt,
        token_hash -> Text,
        status -> Text,
        recipient_ref -> Nullable<Text>,
        recipient_name -> Nullable<Text>,
        recipient_contact -> Nullable<Text>,
        expires_at -> BigInt,
        created_at -> BigInt,
        claimed_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
        refund_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_settings (owner_kind, owner_id) {
        owner_kind -> Text,
        owner_id -> Text,
        event_types -> Nullable<Text>,
        previous_secret_enc -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    supplier_payouts (id) {
        id -> Text,
        supplier_id -> Text,
        amount -> BigInt,
        currency -> Text,
        reference -> Text,
        memo -> Nullable<Text>,
        txn_seq -> BigInt,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    deposits (id) {
        id -> Text,
        reseller_id -> Text,
        reference -> Text,
        amount -> BigInt,
        currency -> Text,
        method -> Text,
        status -> Text,
        out_trade_no -> Nullable<Text>,
        credited_amount -> Nullable<BigInt>,
        provider_transaction_id -> Nullable<Text>,
        review_reason -> Nullable<Text>,
        txn_seq -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        settled_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    payment_callbacks (id) {
        id -> Text,
        provider -> Text,
        reference -> Text,
        deposit_id -> Nullable<Text>,
        transaction_id -> Text,
        status -> Text,
        amount -> BigInt,
        currency -> Text,
        outcome -> Text,
        received_at -> BigInt,
    }
}

diesel::table! {
    jit_fulfilment (product_id) {
        product_id -> Text,
        supplier_id -> Text,
        url -> Text,
        declared_stock -> BigInt,
        timeout_ms -> BigInt,
        declared_at -> BigInt,
        paused_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    jit_reservations (request_id) {
        request_id -> Text,
        reseller_id -> Text,
        key_id -> Text,
        out_trade_no -> Text,
        product_id -> Text,
        supplier_id -> Text,
        quantity -> BigInt,
        request -> Text,
        key_daily_limit -> Nullable<BigInt>,
        declared_at -> BigInt,
        status -> Text,
        failure -> Nullable<Text>,
        order_id -> Nullable<Text>,
        created_at -> BigInt,
        lease_until -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(products -> categories (category_id));
diesel::joinable!(products -> suppliers (supplier_id));
diesel::joinable!(cards -> products (product_id));
diesel::joinable!(ledger_entries -> audit_chain (txn_seq));

diesel::allow_tables_to_appear_in_same_query!(
    admins,
    suppliers,
    levels,
    resellers,
    api_keys,
    request_nonces,
    categories,
    products,
    reseller_prices,
    cards,
    orders,
    chain_head,
    audit_chain,
    pending_sales,
    ledger_entries,
    events,
    event_attempts,
    signing_keys,
    kyc_submissions,
    licences,
    licence_holds,
    network_markups,
    network_product_markups,
    tickets,
    duplicate_flags,
    sandbox_accounts,
    sandbox_orders,
    sandbox_attempts,
    claims,
    webhook_settings,
    supplier_payouts,
    deposits,
    payment_callbacks,
    jit_fulfilment,
    jit_reservations,
);
