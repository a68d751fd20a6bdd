"""The API keys the gateway tests give the Stripe and Cal.com gateways (the sandbox takes any)."""

STRIPE_TEST_KEY = "sk_test_mentorpay_gateways"
CALCOM_TEST_KEY = "cal_test_mentorpay_gateways"
