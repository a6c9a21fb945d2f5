//! The actors' `SmsGateway` port: Telnyx's API, or the sandbox carrier that stands in for it.

use belfry_actors::ports::{CarrierStatus, OutboundSms, PortFuture, SendFailure, SmsGateway};

use crate::telnyx::client::TelnyxGateway;
use crate::telnyx::sandbox::SandboxCarrier;

impl SmsGateway for TelnyxGateway {
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>> {
        Box::pin(self.send_one(sms))
    }

    fn lookup(
        &self,
        provider_message_id: String,
    ) -> PortFuture<'_, Result<Option<CarrierStatus>, SendFailure>> {
        Box::pin(self.look_up(provider_message_id))
    }
}

impl SmsGateway for SandboxCarrier {
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>> {
        let message_id = self.accept(sms);
        Box::pin(async move { Ok(message_id) })
    }

    fn lookup(
        &self,
        provider_message_id: String,
    ) -> PortFuture<'_, Result<Option<CarrierStatus>, SendFailure>> {
        let known = self.look_up(&provider_message_id);
        Box::pin(async move { Ok(known) })
    }
}
